// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Channel: the Perun channel tuples (generation C) and their hashes.
/// @dev The struct layouts are the ABI of the Perun Ethereum backend; the channel ID is
/// keccak256(abi.encode(params)) and the state hash keccak256(abi.encode(state)).
library Channel {
    struct Params {
        uint256 challengeDuration;
        uint256 nonce;
        Participant[] participants;
        address app;
        bool ledgerChannel;
        bool virtualChannel;
    }

    struct Participant {
        address ethAddress;
        bytes ccAddress;
    }

    struct State {
        bytes32 channelID;
        uint64 version;
        Allocation outcome;
        bytes appData;
        bool isFinal;
    }

    struct Asset {
        uint256 chainID;
        address ethHolder;
        bytes ccHolder;
    }

    struct Allocation {
        Asset[] assets;
        uint256[] backends;
        // Outer index: asset; inner index: participant.
        uint256[][] balances;
        SubAlloc[] locked;
    }

    struct SubAlloc {
        // The sub-channel's ID.
        bytes32 ID; // solhint-disable-line var-name-mixedcase
        // The sub-channel's total per asset.
        uint256[] balances;
        // Sub-channel participant i is parent participant indexMap[i].
        uint16[] indexMap;
    }

    function id(Params calldata params) internal pure returns (bytes32) {
        return keccak256(abi.encode(params));
    }

    function hash(State calldata state) internal pure returns (bytes32) {
        return keccak256(abi.encode(state));
    }

    /// @dev Reverts unless the outcome is rectangular: one balance row per asset, one
    /// balance per participant in each row, one total per asset in each sub-allocation.
    function requireWellFormed(Allocation calldata alloc, uint256 numParts) internal pure {
        uint256 numAssets = alloc.assets.length;
        require(alloc.balances.length == numAssets, "balances length mismatch");
        for (uint256 a = 0; a < numAssets; ++a) {
            require(alloc.balances[a].length == numParts, "balances length mismatch");
        }
        for (uint256 s = 0; s < alloc.locked.length; ++s) {
            require(alloc.locked[s].balances.length == numAssets, "sub-allocation length mismatch");
        }
    }

    function requireEqualAssets(Asset[] calldata a, Asset[] calldata b) internal pure {
        require(a.length == b.length, "Asset[]: unequal length");
        for (uint256 i = 0; i < a.length; ++i) {
            require(a[i].chainID == b[i].chainID, "unequal chainID");
            require(a[i].ethHolder == b[i].ethHolder, "unequal ethHolder");
            require(keccak256(a[i].ccHolder) == keccak256(b[i].ccHolder), "unequal ccHolder");
        }
    }

    function requireEqualLocked(SubAlloc[] calldata a, SubAlloc[] calldata b) internal pure {
        require(a.length == b.length, "SubAlloc[]: unequal length");
        for (uint256 i = 0; i < a.length; ++i) {
            require(a[i].ID == b[i].ID, "SubAlloc: unequal ID");
            require(keccak256(abi.encode(a[i].balances)) == keccak256(abi.encode(b[i].balances)), "SubAlloc: unequal balances");
            require(keccak256(abi.encode(a[i].indexMap)) == keccak256(abi.encode(b[i].indexMap)), "SubAlloc: unequal indexMap");
        }
    }
}
