// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Channel.sol";
import "./Sig.sol";
import "./App.sol";
import "./AssetHolder.sol";

/// @title Adjudicator: decides the final state of a Perun channel.
/// @notice ABI-compatible with the Perun reference Adjudicator (perun-eth-contracts v1.0):
/// register, progress, conclude, concludeFinal, channelID, hashState, disputes and the
/// ChannelUpdate event, checking in the reference's order where that costs no gas. Inputs are read
/// from calldata; a dispute record is one slot and its state hash a second.
contract Adjudicator {
    enum DisputePhase {
        DISPUTE,
        FORCEEXEC,
        CONCLUDED
    }

    /// @dev One storage slot. `registered` marks a record that exists.
    struct Dispute {
        uint64 timeout;
        uint64 challengeDuration;
        uint64 version;
        uint8 phase;
        bool hasApp;
        bool registered;
    }

    struct SignedState {
        Channel.Params params;
        Channel.State state;
        bytes[] sigs;
    }

    event ChannelUpdate(bytes32 indexed channelID, uint64 version, uint8 phase, uint64 timeout);

    mapping(bytes32 => Dispute) private _disputes;
    /// @dev Hash of the registered or final state.
    mapping(bytes32 => bytes32) private _stateHashes;

    /// @notice The dispute record of a channel, in the reference layout.
    function disputes(
        bytes32 channelID_
    )
        external
        view
        returns (uint64 timeout, uint64 challengeDuration, uint64 version, uint8 phase, bytes32 stateHash, bool hasApp)
    {
        Dispute memory d = _disputes[channelID_];
        return (d.timeout, d.challengeDuration, d.version, d.phase, _stateHashes[channelID_], d.hasApp);
    }

    /// @notice Registers the state of a ledger channel and, depth-first in the order of each
    /// state's locked list, the states of its sub-channels. A newer version refutes a
    /// registered one until the timeout; re-registering the registered state is a no-op.
    function register(SignedState calldata channel, SignedState[] calldata subChannels) external {
        require(channel.params.ledgerChannel, "not ledger");
        _registerRecursive(channel, subChannels, 0);
    }

    /// @notice Advances a registered app channel by one signed move after the dispute timeout.
    function progress(
        Channel.Params calldata params,
        Channel.State calldata stateOld,
        Channel.State calldata state,
        uint256 actorIdx,
        bytes calldata sig
    ) external {
        Dispute memory d = _requireRegistered(state.channelID);
        if (d.phase == uint8(DisputePhase.DISPUTE)) {
            require(block.timestamp >= d.timeout, "timeout not passed");
        } else if (d.phase == uint8(DisputePhase.FORCEEXEC)) {
            require(block.timestamp < d.timeout, "timeout passed");
        } else {
            revert("invalid phase");
        }
        require(params.app != address(0), "must have app");
        require(actorIdx < params.participants.length, "actorIdx out of range");
        bytes32 id = _requireValidParams(params, state);
        require(_stateHashes[id] == Channel.hash(stateOld), "wrong old state");
        bytes32 stateHash = Channel.hash(state);
        require(Sig.verify(stateHash, sig, params.participants[actorIdx].ethAddress), "invalid signature");
        _requireValidTransition(params, stateOld, state, actorIdx);

        uint64 timeout = state.isFinal ? uint64(block.timestamp) : uint64(block.timestamp) + d.challengeDuration;
        _store(id, Dispute(timeout, d.challengeDuration, state.version, uint8(DisputePhase.FORCEEXEC), true, true));
        _stateHashes[id] = stateHash;
    }

    /// @notice Concludes a registered ledger channel after its timeout, force-concludes its
    /// registered sub-channels (depth-first) and pays the accumulated outcome out to the asset
    /// holders.
    function conclude(
        Channel.Params calldata params,
        Channel.State calldata state,
        Channel.State[] calldata subStates
    ) external {
        require(params.ledgerChannel, "not ledger");
        bytes32 id = _requireValidParams(params, state);
        Dispute memory d = _requireRegistered(id);
        require(_stateHashes[id] == Channel.hash(state), "invalid state");
        require(d.phase != uint8(DisputePhase.CONCLUDED), "already concluded");
        if (d.phase == uint8(DisputePhase.DISPUTE) && d.hasApp) {
            // Leave one more duration for an on-chain progression.
            d.timeout += d.challengeDuration;
        }
        require(block.timestamp >= d.timeout, "timeout not passed yet");
        d.phase = uint8(DisputePhase.CONCLUDED);
        _store(id, d);

        Channel.requireWellFormed(state.outcome, params.participants.length);
        (uint256[][] memory outcome, ) = _accumulateOutcome(state, subStates, 0);
        _pushOutcome(id, state.outcome.assets, params.participants, outcome);
    }

    /// @notice Concludes a ledger channel at once with a final state signed by everyone. It
    /// supersedes any dispute that is not concluded yet.
    function concludeFinal(Channel.Params calldata params, Channel.State calldata state, bytes[] calldata sigs) external {
        require(params.ledgerChannel, "not ledger");
        require(state.isFinal, "state not final");
        require(state.outcome.locked.length == 0, "has sub-channels");
        bytes32 id = _requireValidParams(params, state);
        bytes32 stateHash = Channel.hash(state);
        _requireAllSignatures(params, stateHash, sigs);
        Dispute memory d = _disputes[id];
        if (d.registered) require(d.phase != uint8(DisputePhase.CONCLUDED), "concluded already");
        Channel.requireWellFormed(state.outcome, params.participants.length);

        _stateHashes[id] = stateHash;
        _store(
            id,
            Dispute(
                uint64(block.timestamp),
                uint64(params.challengeDuration),
                state.version,
                uint8(DisputePhase.CONCLUDED),
                params.app != address(0),
                true
            )
        );
        _pushOutcome(id, state.outcome.assets, params.participants, state.outcome.balances);
    }

    /// @notice keccak256(abi.encode(params)).
    function channelID(Channel.Params calldata params) external pure returns (bytes32) {
        return Channel.id(params);
    }

    /// @notice keccak256(abi.encode(state)).
    function hashState(Channel.State calldata state) external pure returns (bytes32) {
        return Channel.hash(state);
    }

    function _registerRecursive(
        SignedState calldata channel,
        SignedState[] calldata subChannels,
        uint256 next
    ) private returns (uint256[] memory total, uint256) {
        _registerSingle(channel);
        Channel.Allocation calldata alloc = channel.state.outcome;
        total = _totals(alloc.balances);
        for (uint256 s = 0; s < alloc.locked.length; ++s) {
            require(next < subChannels.length, "subChannels too short");
            SignedState calldata sub = subChannels[next++];
            Channel.SubAlloc calldata subAlloc = alloc.locked[s];
            require(subAlloc.ID == sub.state.channelID, "invalid sub-channel id");
            uint256[] memory subTotal;
            (subTotal, next) = _registerRecursive(sub, subChannels, next);
            Channel.requireEqualAssets(alloc.assets, sub.state.outcome.assets);
            require(keccak256(abi.encode(subAlloc.balances)) == keccak256(abi.encode(subTotal)), "sub-allocation mismatch");
            for (uint256 a = 0; a < total.length; ++a) {
                total[a] += subTotal[a];
            }
        }
        return (total, next);
    }

    function _registerSingle(SignedState calldata channel) private {
        Channel.Params calldata params = channel.params;
        Channel.State calldata state = channel.state;
        bytes32 id = _requireValidParams(params, state);
        bytes32 stateHash = Channel.hash(state);
        _requireAllSignatures(params, stateHash, channel.sigs);
        if (params.virtualChannel) {
            require(params.app == address(0), "cannot have app");
            require(state.outcome.locked.length == 0, "funds locked");
        }
        Channel.requireWellFormed(state.outcome, params.participants.length);

        Dispute memory d = _disputes[id];
        uint64 timeout;
        if (d.registered) {
            if (_stateHashes[id] == stateHash) return;
            require(d.version < state.version, "invalid version");
            require(d.phase == uint8(DisputePhase.DISPUTE), "incorrect phase");
            require(block.timestamp < d.timeout, "refutation timeout passed");
            timeout = d.timeout; // a refutation does not extend the window
        } else {
            timeout = uint64(block.timestamp) + uint64(params.challengeDuration);
        }
        if (state.isFinal) timeout = uint64(block.timestamp);
        _store(
            id,
            Dispute(
                timeout,
                uint64(params.challengeDuration),
                state.version,
                uint8(DisputePhase.DISPUTE),
                params.app != address(0),
                true
            )
        );
        _stateHashes[id] = stateHash;
    }

    /// @dev The outcome of `state` with the outcomes of its sub-channels (force-concluded here)
    /// added to the parent participants through each sub-allocation's index map.
    function _accumulateOutcome(
        Channel.State calldata state,
        Channel.State[] calldata subStates,
        uint256 next
    ) private returns (uint256[][] memory outcome, uint256) {
        Channel.Allocation calldata alloc = state.outcome;
        uint256 numAssets = alloc.balances.length;
        outcome = new uint256[][](numAssets);
        for (uint256 a = 0; a < numAssets; ++a) {
            outcome[a] = alloc.balances[a];
        }
        for (uint256 s = 0; s < alloc.locked.length; ++s) {
            require(next < subStates.length, "subStates too short");
            Channel.State calldata sub = subStates[next++];
            require(alloc.locked[s].ID == sub.channelID, "invalid subchannel id");
            _forceConclude(sub);
            uint256[][] memory subOutcome;
            (subOutcome, next) = _accumulateOutcome(sub, subStates, next);
            uint16[] calldata indexMap = alloc.locked[s].indexMap;
            for (uint256 a = 0; a < numAssets; ++a) {
                for (uint256 p = 0; p < indexMap.length; ++p) {
                    outcome[a][indexMap[p]] += subOutcome[a][p];
                }
            }
        }
        return (outcome, next);
    }

    function _forceConclude(Channel.State calldata state) private {
        bytes32 id = state.channelID;
        Dispute memory d = _requireRegistered(id);
        require(_stateHashes[id] == Channel.hash(state), "invalid state");
        if (d.phase != uint8(DisputePhase.CONCLUDED)) {
            d.phase = uint8(DisputePhase.CONCLUDED);
            _store(id, d);
        }
    }

    function _pushOutcome(
        bytes32 id,
        Channel.Asset[] calldata assets,
        Channel.Participant[] calldata participants,
        uint256[][] memory outcome
    ) private {
        for (uint256 a = 0; a < assets.length; ++a) {
            Channel.Asset calldata asset = assets[a];
            if (asset.chainID == block.chainid && asset.ethHolder != address(0)) {
                AssetHolder(asset.ethHolder).setOutcome(id, participants, outcome[a]);
            }
        }
    }

    function _requireValidTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) private pure {
        require(to.version == from.version + 1, "version must increment by one");
        require(!from.isFinal, "cannot progress from final state");
        uint256 numParts = params.participants.length;
        Channel.requireWellFormed(from.outcome, numParts);
        Channel.requireWellFormed(to.outcome, numParts);
        Channel.requireEqualAssets(from.outcome.assets, to.outcome.assets);
        Channel.requireEqualLocked(from.outcome.locked, to.outcome.locked);
        uint256[] memory before = _totals(from.outcome.balances);
        uint256[] memory after_ = _totals(to.outcome.balances);
        for (uint256 a = 0; a < before.length; ++a) {
            require(before[a] == after_[a], "sum of balances mismatch");
        }
        App(params.app).validTransition(params, from, to, actorIdx);
    }

    function _requireAllSignatures(Channel.Params calldata params, bytes32 stateHash, bytes[] calldata sigs) private pure {
        Channel.Participant[] calldata parts = params.participants;
        require(parts.length == sigs.length, "signatures length mismatch");
        for (uint256 i = 0; i < sigs.length; ++i) {
            require(Sig.verify(stateHash, sigs[i], parts[i].ethAddress), "invalid signature");
        }
    }

    function _requireValidParams(Channel.Params calldata params, Channel.State calldata state) private pure returns (bytes32 id) {
        id = Channel.id(params);
        require(state.channelID == id, "invalid params");
        require(params.challengeDuration <= type(uint64).max, "challenge duration too large");
    }

    function _requireRegistered(bytes32 id) private view returns (Dispute memory d) {
        d = _disputes[id];
        require(d.registered, "not registered");
    }

    function _store(bytes32 id, Dispute memory d) private {
        _disputes[id] = d;
        emit ChannelUpdate(id, d.version, d.phase, d.timeout);
    }

    function _totals(uint256[][] calldata balances) private pure returns (uint256[] memory totals) {
        totals = new uint256[](balances.length);
        for (uint256 a = 0; a < balances.length; ++a) {
            uint256[] calldata row = balances[a];
            uint256 sum = 0;
            for (uint256 p = 0; p < row.length; ++p) {
                sum += row[p];
            }
            totals[a] = sum;
        }
    }
}
