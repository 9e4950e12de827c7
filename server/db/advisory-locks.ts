/**
 * PostgreSQL advisory lock keys, one per start-up step that server replicas sharing a database
 * must not run at the same time. Any fixed numbers do; they only have to differ from each other.
 */
export const ADVISORY_LOCKS = {
  /** Held while the migrations run: two replicas starting on an empty database would both create the tables. */
  migrations: 0x5357_4d50_0001,
  /** Held while the first admin token is checked for and created: only one replica creates (and prints) it. */
  firstAdminToken: 0x5357_4d50_0002,
} as const;
