export type { CustodyKind, KeyCustodies, KeyCustody, KeyHint } from './key-custody.ts';
export { LocalKeyCustody } from './local-key-custody.ts';
export { VaultKeyCustody } from './vault-key-custody.ts';
