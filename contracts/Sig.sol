// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Sig: EIP-191 signatures over a 32-byte hash, as the Perun Ethereum backend makes them.
/// @dev Accepts only 65-byte r||s||v signatures with v in {27, 28} and a low s, so that every
/// signature has exactly one valid encoding (no malleability).
library Sig {
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev keccak256("\x19Ethereum Signed Message:\n32" || dataHash).
    function ethSignedHash(bytes32 dataHash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            mstore(0x00, "\x19Ethereum Signed Message:\n32")
            mstore(0x1c, dataHash)
            digest := keccak256(0x00, 0x3c)
        }
    }

    /// @dev True iff `sig` is `signer`'s signature on the EIP-191 digest of `dataHash`.
    function verify(bytes32 dataHash, bytes calldata sig, address signer) internal pure returns (bool) {
        if (sig.length != 65) return false;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := calldataload(sig.offset)
            s := calldataload(add(sig.offset, 32))
            v := byte(0, calldataload(add(sig.offset, 64)))
        }
        if (uint256(s) > HALF_N || (v != 27 && v != 28)) return false;
        address recovered = ecrecover(ethSignedHash(dataHash), v, r, s);
        return recovered != address(0) && recovered == signer;
    }
}
