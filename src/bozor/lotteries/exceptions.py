from __future__ import annotations

from bozor.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError


class BadAccountNumberError(InvalidInputError):
    code = "lottery.bad_account"  # params: value


class BadClubCardError(InvalidInputError):
    code = "lottery.bad_card"  # params: value


class BadPhoneError(InvalidInputError):
    code = "lottery.bad_phone"


class CardTakenError(ConflictError):
    code = "lottery.card_taken"


class AlreadyRegisteredError(ConflictError):
    code = "lottery.already_registered"


class NotRegisteredError(NotFoundError):
    code = "lottery.not_registered"


class AccountNotFoundError(NotFoundError):
    code = "lottery.account_not_found"  # params: number


class AccountOtherCardError(ConflictError):
    code = "lottery.account_other_card"  # params: number, card


class LotteryNotFoundError(NotFoundError):
    code = "lottery.not_found"  # params: lottery_id


class LotteryDrawnError(ConflictError):
    code = "lottery.already_drawn"  # params: lottery_id


class LotteryNotDrawnError(ConflictError):
    code = "lottery.not_drawn"  # params: lottery_id


class NoParticipantsError(ConflictError):
    code = "lottery.no_participants"  # params: lottery_id


class ExternalValueMissingError(InvalidInputError):
    code = "lottery.external_missing"  # params: lottery_id, name


class BadLotteryError(InvalidInputError):
    code = "lottery.bad_lottery"  # params: reason


class UnknownCodeError(NotFoundError):
    code = "lottery.unknown_code"


class NoPendingWinError(NotFoundError):
    code = "lottery.no_pending_win"  # params: lottery_id


class NotYourAccountError(ForbiddenError):
    code = "lottery.not_your_account"


class WinNotFoundError(NotFoundError):
    code = "lottery.win_not_found"


class WinExpiredError(ConflictError):
    code = "lottery.win_expired"


class WinAlreadyConfirmedError(ConflictError):
    code = "lottery.win_already_confirmed"


class WinNotConfirmedError(ConflictError):
    code = "lottery.win_not_confirmed"


class PrizeHandedOverError(ConflictError):
    code = "lottery.prize_handed_over"


class NothingToRedrawError(ConflictError):
    code = "lottery.nothing_to_redraw"  # params: lottery_id


class BadImportError(InvalidInputError):
    code = "lottery.bad_import"  # params: lines (the line numbers), example


class NoOneLeftToRedrawError(ConflictError):
    code = "lottery.no_one_left"  # params: lottery_id


class WinAccountRemovedError(ConflictError):
    code = "lottery.win_account_removed"
