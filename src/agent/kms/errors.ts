/**
 * Errors of the key vault (encryption at rest). Errors raised through Credo's KMS interface use
 * Credo's own `Kms.KeyManagementError` family so that Credo's callers recognise them.
 */

/** Base class of the vault errors. */
export class KeyVaultError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The passphrase does not open this key storage (the stored check value does not authenticate). */
export class WrongPassphraseError extends KeyVaultError {
  constructor() {
    super('wrong passphrase: the key storage was created with a different passphrase');
  }
}

/** The key storage holds data this vault cannot read (unknown format, bad parameters, tampered entry). */
export class KeyStorageCorruptError extends KeyVaultError {}
