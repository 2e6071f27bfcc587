// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./Channel.sol";

/// @title App: the rule of an app channel, checked on-chain when a dispute is progressed.
interface App {
    /// @notice Reverts unless `to` is a valid successor of `from` when made by participant `actorIdx`.
    /// @dev The adjudicator has already checked the channel ID, the version step, the actor's
    /// signature and that the totals per asset are unchanged.
    function validTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) external pure;
}
