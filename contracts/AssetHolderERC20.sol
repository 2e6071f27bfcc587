// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./AssetHolder.sol";

/// @title AssetHolderERC20: the asset holder for one ERC20 token.
/// @dev A depositor approves this contract first. Tokens that return nothing from transfer
/// and transferFrom are accepted; a false return or a revert fails the call. Tokens that take
/// a fee on transfer are not supported.
contract AssetHolderERC20 is AssetHolder {
    address public immutable token;

    constructor(address adjudicator_, address token_) AssetHolder(adjudicator_) {
        token = token_;
    }

    function _depositCheck(uint256) internal view override {
        require(msg.value == 0, "message value must be 0 for token deposit");
    }

    function _depositEnact(uint256 amount) internal override {
        _call(abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), amount), "transferFrom failed");
    }

    function _withdrawEnact(address payable receiver, uint256 amount) internal override {
        _call(abi.encodeWithSelector(0xa9059cbb, receiver, amount), "transfer failed");
    }

    function _call(bytes memory data, string memory error) private {
        (bool ok, bytes memory ret) = token.call(data);
        require(ok && (ret.length == 0 ? token.code.length > 0 : abi.decode(ret, (bool))), error);
    }
}
