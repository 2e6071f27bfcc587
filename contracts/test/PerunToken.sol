// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title PerunToken: a plain ERC20 token for tests and the demo; mints a supply to each account.
contract PerunToken {
    string public constant name = "PerunToken";
    string public constant symbol = "PRN";
    uint8 public constant decimals = 18;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(address[] memory accounts, uint256 initBalance) {
        for (uint256 i = 0; i < accounts.length; ++i) {
            balanceOf[accounts[i]] += initBalance;
            emit Transfer(address(0), accounts[i], initBalance);
        }
        totalSupply = initBalance * accounts.length;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "insufficient allowance");
            allowance[from][msg.sender] = allowed - value;
        }
        _transfer(from, to, value);
        return true;
    }

    function _transfer(address from, address to, uint256 value) private {
        require(balanceOf[from] >= value, "insufficient balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }
}
