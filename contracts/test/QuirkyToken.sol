// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title QuirkyToken: an ERC20 for tests whose transfer and transferFrom answer in one of the
/// ways tokens in the wild do: `true` (standard), nothing (older tokens), `false` instead of a
/// revert, or a revert. The balances move only in the first two modes.
contract QuirkyToken {
    enum Mode {
        Standard,
        NoReturn,
        ReturnsFalse,
        Reverts
    }

    Mode public mode;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    constructor(address[] memory accounts, uint256 initBalance) {
        for (uint256 i = 0; i < accounts.length; ++i) balanceOf[accounts[i]] = initBalance;
    }

    function setMode(Mode m) external {
        mode = m;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    function transfer(address to, uint256 value) external {
        _move(msg.sender, to, value);
        _answer();
    }

    function transferFrom(address from, address to, uint256 value) external {
        if (mode == Mode.Standard || mode == Mode.NoReturn) {
            require(allowance[from][msg.sender] >= value, "insufficient allowance");
            allowance[from][msg.sender] -= value;
        }
        _move(from, to, value);
        _answer();
    }

    function _move(address from, address to, uint256 value) private {
        if (mode == Mode.Reverts) revert("token says no");
        if (mode == Mode.ReturnsFalse) return;
        require(balanceOf[from] >= value, "insufficient balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
    }

    /// @dev Ends the call with the mode's return data: one word `true`, nothing, or `false`.
    function _answer() private view {
        Mode m = mode;
        assembly ("memory-safe") {
            switch m
            case 0 {
                mstore(0x00, 1)
                return(0x00, 0x20)
            }
            case 1 {
                return(0x00, 0x00)
            }
            default {
                mstore(0x00, 0)
                return(0x00, 0x20)
            }
        }
    }
}
