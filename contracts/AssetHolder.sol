// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Channel.sol";
import "./Sig.sol";

/// @title AssetHolder: holds the deposits of Perun channels for one asset and pays out outcomes.
/// @notice ABI-compatible with the Perun reference AssetHolder (v1.0): deposit, withdraw,
/// setOutcome, holdings, settled, adjudicator and the Deposited, Withdrawn and OutcomeSet events,
/// with the reference's rules: setOutcome runs once per channel and marks it settled, counts and
/// clears a deposit made under the channel ID itself, and withdraw requires the settled mark.
/// @dev One word per funding ID. The word of a channel ID (the target of a deposit made under the
/// channel ID) also carries the settled mark in its top bit, so marking a channel settled and
/// reading the mark cost no slot of their own.
abstract contract AssetHolder {
    struct WithdrawalAuth {
        bytes32 channelID;
        Channel.Participant participant;
        address payable receiver;
        uint256 amount;
    }

    event OutcomeSet(bytes32 indexed channelID);
    event Deposited(bytes32 indexed fundingID, uint256 amount);
    event Withdrawn(bytes32 indexed fundingID, uint256 amount, address receiver);

    uint256 private constant SETTLED = 1 << 255;
    uint256 private constant AMOUNT = SETTLED - 1;

    /// @notice The adjudicator, the only caller of setOutcome.
    address public immutable adjudicator;

    /// @dev fundingID => amount; a channel ID's word also holds the SETTLED mark.
    mapping(bytes32 => uint256) private _holdings;

    constructor(address adjudicator_) {
        adjudicator = adjudicator_;
    }

    /// @notice The amount held for a funding ID, keccak256(abi.encode(channelID, participant)).
    function holdings(bytes32 fundingID) external view returns (uint256) {
        return _holdings[fundingID] & AMOUNT;
    }

    /// @notice True once the outcome of the channel was set here, from when on its participants
    /// may withdraw.
    function settled(bytes32 channelID) external view returns (bool) {
        return (_holdings[channelID] & SETTLED) != 0;
    }

    /// @notice Deposits `amount` for `fundingID`. Anyone may deposit for anyone.
    function deposit(bytes32 fundingID, uint256 amount) external payable {
        _depositCheck(amount);
        uint256 h = _holdings[fundingID];
        uint256 held = (h & AMOUNT) + amount;
        require(held <= AMOUNT, "deposit too large");
        _holdings[fundingID] = (h & SETTLED) | held;
        _depositEnact(amount);
        emit Deposited(fundingID, amount);
    }

    /// @notice Sets the outcome of a concluded channel, once. If the channel holds at least the
    /// outcome's total (deposits under the channel ID itself included), each participant's
    /// holding becomes its outcome (a surplus is lost); otherwise every participant keeps exactly
    /// what it deposited. A deposit under the channel ID is spent either way.
    function setOutcome(
        bytes32 channelID,
        Channel.Participant[] calldata participants,
        uint256[] calldata newBals
    ) external {
        require(msg.sender == adjudicator, "can only be called by the adjudicator");
        uint256 n = participants.length;
        require(n == newBals.length, "participants length should equal balances");
        uint256 sumHeld = _holdings[channelID];
        require((sumHeld & SETTLED) == 0, "trying to set already settled channel");
        _holdings[channelID] = SETTLED;
        bytes32[] memory ids = new bytes32[](n);
        uint256[] memory held = new uint256[](n);
        uint256 sumOutcome = 0;
        for (uint256 i = 0; i < n; ++i) {
            require(newBals[i] <= AMOUNT, "balance too large");
            bytes32 id = calcFundingID(channelID, participants[i].ethAddress);
            uint256 h = _holdings[id];
            ids[i] = id;
            held[i] = h;
            sumHeld += h;
            sumOutcome += newBals[i];
        }
        if (sumHeld >= sumOutcome) {
            for (uint256 i = 0; i < n; ++i) {
                if (newBals[i] != held[i]) _holdings[ids[i]] = newBals[i];
            }
        }
        emit OutcomeSet(channelID);
    }

    /// @notice Pays `authorization.amount` of a settled channel participant's holding to
    /// `authorization.receiver`, authorized by the participant's signature.
    function withdraw(WithdrawalAuth calldata authorization, bytes calldata signature) external {
        require((_holdings[authorization.channelID] & SETTLED) != 0, "channel not settled");
        require(
            Sig.verify(keccak256(abi.encode(authorization)), signature, authorization.participant.ethAddress),
            "signature verification failed"
        );
        bytes32 id = calcFundingID(authorization.channelID, authorization.participant.ethAddress);
        uint256 held = _holdings[id];
        uint256 amount = authorization.amount;
        require(amount <= held, "insufficient funds");
        unchecked {
            _holdings[id] = held - amount;
        }
        _withdrawEnact(authorization.receiver, amount);
        emit Withdrawn(id, amount, authorization.receiver);
    }

    /// @dev Reverts unless the deposit's payment is acceptable for this asset.
    function _depositCheck(uint256 amount) internal view virtual;

    /// @dev Takes the deposited amount in (for tokens: pulls it from msg.sender).
    function _depositEnact(uint256 amount) internal virtual;

    /// @dev Pays `amount` to `receiver`; reverts if the payment fails.
    function _withdrawEnact(address payable receiver, uint256 amount) internal virtual;

    function calcFundingID(bytes32 channelID, address participant) internal pure returns (bytes32) {
        return keccak256(abi.encode(channelID, participant));
    }
}
