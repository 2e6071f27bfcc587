export { KeyStorageCorruptError, KeyVaultError, WrongPassphraseError } from './errors.js';
export { InMemoryKmsKeyStorage, JsonFileKmsKeyStorage, type KmsKeyStorage } from './key-storage.js';
export { TypeOrmKmsKeyStorage, kmsKeyEntities, kmsKeyMigrations } from './typeorm-key-storage.js';
export { createPerunKmsModule, perunKmsModuleConfig } from './module.js';
export {
  PERUN_KMS_BACKEND,
  PerunKeyManagementService,
  type OpenPerunKmsOptions,
} from './PerunKeyManagementService.js';
export {
  DEFAULT_SCRYPT_PARAMS,
  KeyVault,
  type OpenVaultOptions,
  type Passphrase,
  type ScryptParams,
} from './vault.js';
