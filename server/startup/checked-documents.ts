import { parse, type DocumentNode, type GraphQLError } from "graphql";

/** A source text checked once: its document and validation errors, or null when it does not parse. */
export type CheckedDocument = { document: DocumentNode; errors: readonly GraphQLError[] } | null;

/**
 * Parsed and validated operations by source text, for WebSocket subscribes: a thousand dashboard
 * tabs subscribing with the same text are parsed and validated once, not once each. Bounded: the
 * most recently used `maxEntries` sources of at most `maxSourceLength` characters are kept.
 */
export class CheckedDocuments {
  private readonly cache = new Map<string, CheckedDocument>();

  constructor(
    private readonly validate: (document: DocumentNode) => readonly GraphQLError[],
    private readonly maxEntries = 256,
    private readonly maxSourceLength = 16_384,
  ) {}

  get(source: string): CheckedDocument {
    const cached = this.cache.get(source);
    if (cached !== undefined) {
      this.cache.delete(source);
      this.cache.set(source, cached);
      return cached;
    }
    let checked: CheckedDocument;
    try {
      const document = parse(source);
      checked = { document, errors: this.validate(document) };
    } catch {
      checked = null;
    }
    if (source.length <= this.maxSourceLength) {
      this.cache.set(source, checked);
      if (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    }
    return checked;
  }
}
