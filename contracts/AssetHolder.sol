// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Channel.sol";
import "./Sig.sol";

/// @dev The part of the Adjudicator an asset holder reads.
interface IAdjudicatorDisputes {
    function disputes(
        bytes32 channelID
    )
        external
        view
        returns (uint64 timeout, uint64 challengeDuration, uint64 version, uint8 phase, bytes32 stateHash, bool hasApp);
}

/// @title AssetHolder: holds the deposits of Perun channels for one asset and pays out outcomes.
/// @notice ABI-compatible with the Perun reference AssetHolder (v1.0): deposit, withdraw,
/// setOutcome, holdings, settled, adjudicator and the Deposited, Withdrawn and OutcomeSet events.
/// @dev A holding is stored with its top bit set once the outcome of its channel has been
/// written, so neither setOutcome nor withdraw touches a per-channel slot. Withdrawing from a
/// holding without that bit (a deposit made after the outcome was paid out) asks the
/// adjudicator whether the channel is concluded.
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
    uint8 private constant CONCLUDED = 2;

    /// @notice The adjudicator, the only caller of setOutcome.
    address public immutable adjudicator;

    /// @dev fundingID => amount | SETTLED flag.
    mapping(bytes32 => uint256) private _holdings;

    constructor(address adjudicator_) {
        adjudicator = adjudicator_;
    }

    /// @notice The amount held for a funding ID, keccak256(abi.encode(channelID, participant)).
    function holdings(bytes32 fundingID) external view returns (uint256) {
        return _holdings[fundingID] & AMOUNT;
    }

    /// @notice True once the adjudicator has concluded the channel, from when on its
    /// participants may withdraw.
    function settled(bytes32 channelID) public view returns (bool) {
        (, , , uint8 phase, , ) = IAdjudicatorDisputes(adjudicator).disputes(channelID);
        return phase == CONCLUDED;
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

    /// @notice Sets the outcome of a concluded channel. If the channel holds at least the
    /// outcome's total, each participant's holding becomes its outcome (a surplus is lost);
    /// otherwise every participant keeps exactly what it deposited.
    function setOutcome(
        bytes32 channelID,
        Channel.Participant[] calldata participants,
        uint256[] calldata newBals
    ) external {
        require(msg.sender == adjudicator, "can only be called by the adjudicator");
        uint256 n = participants.length;
        require(n == newBals.length, "participants length should equal balances");
        bytes32[] memory ids = new bytes32[](n);
        uint256[] memory held = new uint256[](n);
        uint256 sumHeld = 0;
        uint256 sumOutcome = 0;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 id = calcFundingID(channelID, participants[i].ethAddress);
            uint256 h = _holdings[id];
            require((h & SETTLED) == 0, "trying to set already settled channel");
            require(newBals[i] <= AMOUNT, "balance too large");
            ids[i] = id;
            held[i] = h;
            sumHeld += h;
            sumOutcome += newBals[i];
        }
        bool funded = sumHeld >= sumOutcome;
        for (uint256 i = 0; i < n; ++i) {
            uint256 bal = funded ? newBals[i] : held[i];
            uint256 h = bal == 0 ? 0 : bal | SETTLED;
            if (h != held[i]) _holdings[ids[i]] = h;
        }
        emit OutcomeSet(channelID);
    }

    /// @notice Pays `authorization.amount` of a settled channel participant's holding to
    /// `authorization.receiver`, authorized by the participant's signature.
    function withdraw(WithdrawalAuth calldata authorization, bytes calldata signature) external {
        bytes32 id = calcFundingID(authorization.channelID, authorization.participant.ethAddress);
        uint256 h = _holdings[id];
        if ((h & SETTLED) == 0) require(settled(authorization.channelID), "channel not settled");
        require(
            Sig.verify(keccak256(abi.encode(authorization)), signature, authorization.participant.ethAddress),
            "signature verification failed"
        );
        uint256 held = h & AMOUNT;
        uint256 amount = authorization.amount;
        require(amount <= held, "insufficient funds");
        unchecked {
            held -= amount;
        }
        _holdings[id] = held == 0 ? 0 : held | SETTLED;
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
