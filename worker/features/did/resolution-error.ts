import { AppError } from '../../platform/errors.ts';

/** DID Resolution error types (W3C DID Resolution; api.md), with their HTTP status and our stable code. */
export const DID_ERRORS = {
  INVALID_DID: { status: 400, code: 'invalid_did', title: 'Invalid DID' },
  NOT_FOUND: { status: 404, code: 'not_found', title: 'DID not found' },
  REPRESENTATION_NOT_SUPPORTED: {
    status: 406,
    code: 'representation_not_supported',
    title: 'Representation not supported',
  },
  METHOD_NOT_SUPPORTED: { status: 501, code: 'method_not_supported', title: 'DID method not supported' },
} as const;

export type DidErrorName = keyof typeof DID_ERRORS;

/**
 * A problem+json error that is also a DID Resolution result: `type` is the `https://www.w3.org/ns/did#...`
 * URL, and `didResolutionMetadata.error` carries the same problem details, as resolver clients expect.
 */
export function didResolutionError(name: DidErrorName, detail: string): AppError {
  const { status, code, title } = DID_ERRORS[name];
  const type = `https://www.w3.org/ns/did#${name}`;
  return new AppError(code, detail, {
    type,
    title,
    didDocument: null,
    didDocumentMetadata: {},
    didResolutionMetadata: { error: { type, title, status, detail } },
  });
}
