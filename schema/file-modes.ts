/**
 * Modes of what swamp keeps in SWAMP_HOME: artifacts (trained weights, masks) and secrets (the
 * embedded PostgreSQL's password, the saved admin token) are for their owner alone.
 */
export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;
