// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import "./App.sol";
import "./Sig.sol";

/// @title CredentialPaymentApp: a holder pays for a credential that the issuer signs.
/// @notice Two participants: 0 is the holder, 1 the issuer. The holder opens the channel with an
/// offer to pay `price` (asset 0) for the credential whose digest is `credentialHash`; the issuer
/// answers with the one move this app knows: a final state that carries its EIP-191 signature over
/// `credentialHash` and moves `price` from the holder to the issuer. Publishing that state on chain
/// reveals the signed credential digest, which is what releases the payment.
///
/// App data, packed at fixed offsets:
///   [0, 32)   credentialHash (bytes32)
///   [32, 64)  price (uint256, in asset 0)
///   [64]      stage (uint8: 0 OFFERED, 1 DELIVERED)
///   [65, 130) issuerSig (65 bytes r || s || v, DELIVERED only)
/// so an offer is 65 bytes and a delivery 130.
///
/// @dev There is deliberately no cancel move for the holder. On chain, a holder-signed cancel
/// would race the issuer's delivery once the registered offer times out, and whichever lands
/// first would win. The holder's refund is instead the registered offer itself: if nobody
/// progresses it, the Adjudicator lets it be concluded one extra challenge duration after the
/// timeout, and its outcome returns the holder's balance untouched.
contract CredentialPaymentApp is App {
    uint256 private constant HOLDER = 0;
    uint256 private constant ISSUER = 1;
    uint8 private constant OFFERED = 0;
    uint8 private constant DELIVERED = 1;
    uint256 private constant OFFER_LENGTH = 65;
    uint256 private constant DELIVERY_LENGTH = 130;

    function validTransition(
        Channel.Params calldata params,
        Channel.State calldata from,
        Channel.State calldata to,
        uint256 actorIdx
    ) external pure override {
        require(params.participants.length == 2, "two participants");
        require(actorIdx == ISSUER, "actor not issuer");
        bytes calldata offer = from.appData;
        bytes calldata delivery = to.appData;
        require(offer.length == OFFER_LENGTH && uint8(offer[64]) == OFFERED, "from not offered");
        require(delivery.length == DELIVERY_LENGTH && uint8(delivery[64]) == DELIVERED, "to not delivered");
        bytes32 credentialHash = bytes32(offer[0:32]);
        require(bytes32(delivery[0:32]) == credentialHash, "credential changed");
        uint256 price = uint256(bytes32(offer[32:64]));
        require(uint256(bytes32(delivery[32:64])) == price, "price changed");
        require(
            Sig.verify(credentialHash, delivery[65:130], params.participants[ISSUER].ethAddress),
            "bad issuer signature"
        );
        require(to.isFinal, "not final");

        uint256[][] calldata before = from.outcome.balances;
        uint256[][] calldata after_ = to.outcome.balances;
        require(
            before.length > 0 && after_.length == before.length && before[0].length == 2 && after_[0].length == 2,
            "balances malformed"
        );
        uint256[] calldata was = before[0];
        uint256[] calldata becomes = after_[0];
        require(was[HOLDER] >= price && becomes[HOLDER] == was[HOLDER] - price, "holder must pay price");
        require(becomes[ISSUER] >= was[ISSUER] && becomes[ISSUER] - was[ISSUER] == price, "issuer must get price");
        for (uint256 a = 1; a < before.length; ++a) {
            uint256[] calldata x = before[a];
            uint256[] calldata y = after_[a];
            require(x.length == y.length, "other assets changed");
            for (uint256 p = 0; p < x.length; ++p) {
                require(x[p] == y[p], "other assets changed");
            }
        }
    }
}
