from __future__ import annotations

from bozor.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError


class CategoryNotFoundError(NotFoundError):
    code = "shop.category_not_found"


class ProductNotFoundError(NotFoundError):
    code = "shop.product_not_found"


class OrderNotFoundError(NotFoundError):
    code = "shop.order_not_found"


class NotYourOrderError(ForbiddenError):
    code = "shop.not_your_order"


class SoldOutError(ConflictError):
    code = "shop.sold_out"  # params: left (codes in stock now)


class OrderNotPendingError(ConflictError):
    code = "shop.order_not_pending"  # params: status


class NotRefundableError(ConflictError):
    code = "shop.not_refundable"  # params: status


class NameTakenError(ConflictError):
    code = "shop.name_taken"


class BadQuantityError(InvalidInputError):
    code = "shop.bad_quantity"  # params: max


class BadPriceError(InvalidInputError):
    code = "shop.bad_price"


class BadNameError(InvalidInputError):
    code = "shop.bad_name"


class BadImportError(InvalidInputError):
    code = "shop.bad_import"  # params: reason


class CardPaymentUnavailableError(ConflictError):
    code = "shop.card_unavailable"


class BonusNotApplicableError(ConflictError):
    code = "shop.bonus_not_applicable"


class PaymentProviderError(ConflictError):
    code = "shop.provider_error"


class TicketNotFoundError(NotFoundError):
    code = "shop.ticket_not_found"


class FaqNotFoundError(NotFoundError):
    code = "shop.faq_not_found"


class BadTextError(InvalidInputError):
    code = "shop.bad_text"  # params: max


class OrderAlreadyPaidError(OrderNotPendingError):
    code = "shop.order_already_paid"


class OrderRefundedError(OrderNotPendingError):
    code = "shop.order_refunded"


class OrderClosedError(OrderNotPendingError):
    code = "shop.order_closed"  # expired or cancelled, and could not be held again


class PaidNotCancellableError(OrderNotPendingError):
    code = "shop.paid_not_cancellable"


class AmountChangedError(OrderNotPendingError):
    code = "shop.amount_changed"


def not_pending(status: str, *, cancelling: bool = False) -> OrderNotPendingError:
    """Why an order that is no longer waiting for payment refuses, said for its state (never
    a raw status word)."""
    if status == "delivered":
        return PaidNotCancellableError() if cancelling else OrderAlreadyPaidError()
    if status in ("refunded", "refund_due"):
        return OrderRefundedError()
    return OrderClosedError()
