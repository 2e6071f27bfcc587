// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./AssetHolder.sol";

/// @title AssetHolderETH: the asset holder for ether.
/// @dev Pays out with a plain call (no 2300-gas stipend), so contract wallets can receive;
/// the holding is reduced before the call, so re-entering withdraw finds nothing more.
contract AssetHolderETH is AssetHolder {
    constructor(address adjudicator_) AssetHolder(adjudicator_) {}

    function _depositCheck(uint256 amount) internal view override {
        require(msg.value == amount, "wrong amount of ETH for deposit");
    }

    function _depositEnact(uint256) internal pure override {} // solhint-disable-line no-empty-blocks

    function _withdrawEnact(address payable receiver, uint256 amount) internal override {
        (bool ok, ) = receiver.call{value: amount}("");
        require(ok, "ETH transfer failed");
    }
}
