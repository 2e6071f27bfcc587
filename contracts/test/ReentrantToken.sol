// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ReentrantToken: a hostile ERC20 for tests. While an asset holder pays it out with
/// `transfer`, it calls the holder again with a stored withdrawal (armed by `arm`), and records
/// whether that nested call succeeded.
contract ReentrantToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address private _target;
    bytes private _payload;
    bool public attacked;
    bool public reentrySucceeded;

    constructor(address[] memory accounts, uint256 initBalance) {
        for (uint256 i = 0; i < accounts.length; ++i) balanceOf[accounts[i]] = initBalance;
    }

    function arm(address target, bytes calldata payload) external {
        _target = target;
        _payload = payload;
        attacked = false;
        reentrySucceeded = false;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value && balanceOf[from] >= value, "insufficient");
        allowance[from][msg.sender] -= value;
        balanceOf[from] -= value;
        balanceOf[to] += value;
        return true;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "insufficient balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        if (_target != address(0) && !attacked) {
            attacked = true;
            (bool ok, ) = _target.call(_payload);
            reentrySucceeded = ok;
        }
        return true;
    }
}
