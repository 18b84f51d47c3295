"""Reversal maths: proportional, cumulative, never more than earned."""
from decimal import Decimal as D

from loyalty_app.program.reversal import reversal_delta, reversal_target


def test_partial_refund_is_proportional():
    assert reversal_target(100, D("200"), D("50"), False) == 25


def test_full_refund_reverses_everything():
    assert reversal_target(97, D("97.40"), D("97.40"), False) == 97


def test_over_refund_is_capped_at_earned():
    assert reversal_target(100, D("200"), D("500"), False) == 100


def test_repeated_partial_refunds_do_not_drift():
    earned, eligible, reversed_so_far, refunded = 100, D("3"), 0, D("0")
    for _ in range(3):
        refunded += D("1")
        delta = reversal_delta(earned, reversed_so_far, eligible, refunded, False)
        reversed_so_far += delta
    assert reversed_so_far == 100


def test_cancellation_reverses_the_rest():
    assert reversal_delta(100, 30, D("200"), D("60"), True) == 70


def test_refund_after_cancellation_reverses_nothing_more():
    assert reversal_delta(100, 100, D("200"), D("200"), True) == 0


def test_nothing_earned_nothing_reversed():
    assert reversal_target(0, D("50"), D("50"), True) == 0
