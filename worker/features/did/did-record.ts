import { DID_RESOLUTION_CONTEXT, type DidEntry } from './did-documents.ts';

/** The `contentType` reported in `didResolutionMetadata`: the document is embedded as plain JSON. */
export const RESOLVED_DOCUMENT_CONTENT_TYPE = 'application/did+json';

/**
 * One DID's entry with its serialised representations, built lazily and kept with the entry so that a
 * cache hit in isolate memory serialises nothing. Immutable once built.
 */
export class DidRecord {
  readonly entry: DidEntry;
  #document?: string;
  #result?: string;
  #card?: string;

  constructor(entry: DidEntry) {
    this.entry = entry;
  }

  get deactivated(): boolean {
    return this.entry.metadata.deactivated;
  }

  /** The W3C DID Resolution result (DIF Universal Resolver HTTP binding). */
  resolutionResult() {
    return {
      '@context': DID_RESOLUTION_CONTEXT,
      didDocument: this.entry.document,
      didResolutionMetadata: { contentType: RESOLVED_DOCUMENT_CONTENT_TYPE },
      didDocumentMetadata: this.entry.metadata,
    };
  }

  documentBody(): string {
    return (this.#document ??= JSON.stringify(this.entry.document));
  }

  resultBody(): string {
    return (this.#result ??= JSON.stringify(this.resolutionResult()));
  }

  /** Undefined when the DID has no card (the instance, a decommissioned agent). */
  cardBody(): string | undefined {
    if (!this.entry.card) return undefined;
    return (this.#card ??= JSON.stringify(this.entry.card));
  }

  /** A strong ETag for one representation (`repr` names body and media type, e.g. `did+json`). */
  etag(repr: string): string {
    return `"${this.entry.tag}.${repr}"`;
  }
}
