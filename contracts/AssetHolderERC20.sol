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
        // transferFrom(msg.sender, this, amount)
        require(_call(0x23b872dd, uint160(msg.sender), uint160(address(this)), amount, 100), "transferFrom failed");
    }

    function _withdrawEnact(address payable receiver, uint256 amount) internal override {
        // transfer(receiver, amount)
        require(_call(0xa9059cbb, uint160(address(receiver)), amount, 0, 68), "transfer failed");
    }

    /// @dev Calls the token with a selector and up to three words of arguments, built in
    /// scratch memory. Succeeds if the call did not revert and returned either nothing (from a
    /// contract) or a word equal to true.
    function _call(uint32 selector, uint256 a, uint256 b, uint256 c, uint256 size) private returns (bool ok) {
        address t = token;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, shl(224, selector))
            mstore(add(p, 4), a)
            mstore(add(p, 36), b)
            mstore(add(p, 68), c)
            mstore(0x00, 0)
            ok := call(gas(), t, 0, p, size, 0x00, 0x20)
            let rs := returndatasize()
            ok := and(ok, or(and(iszero(rs), gt(extcodesize(t), 0)), and(gt(rs, 31), eq(mload(0x00), 1))))
        }
    }
}
