/**
 * Plugging the KMS into Credo: `new Agent({ modules: { kms: await createPerunKmsModule({...}) } })`
 * or, with an already opened service, `new Kms.KeyManagementModule(perunKmsModuleConfig(kms))`.
 */
import { Kms } from '@credo-ts/core';
import { type OpenPerunKmsOptions, PerunKeyManagementService } from './PerunKeyManagementService.js';

/** The `KeyManagementModuleConfigOptions` with this KMS as the only (and default) backend. */
export function perunKmsModuleConfig(kms: PerunKeyManagementService): Kms.KeyManagementModuleConfigOptions {
  return { backends: [kms], defaultBackend: kms.backend };
}

/**
 * Opens the key storage with the passphrase and returns Credo's `KeyManagementModule` using it,
 * together with the service (for direct use and tests).
 * @throws WrongPassphraseError if the storage belongs to another passphrase
 */
export async function createPerunKmsModule(
  options: OpenPerunKmsOptions,
): Promise<{ module: Kms.KeyManagementModule; kms: PerunKeyManagementService }> {
  const kms = await PerunKeyManagementService.open(options);
  return { module: new Kms.KeyManagementModule(perunKmsModuleConfig(kms)), kms };
}
