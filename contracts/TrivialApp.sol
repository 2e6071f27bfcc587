// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./App.sol";

/// @title TrivialApp: an app that accepts every transition the adjudicator lets through.
contract TrivialApp is App {
    function validTransition(
        Channel.Params calldata,
        Channel.State calldata,
        Channel.State calldata,
        uint256
    ) external pure override {} // solhint-disable-line no-empty-blocks
}
