"""The USD cost of an answer, from the price table bundled with `genai-prices` (never fetched)."""

from __future__ import annotations

from decimal import Decimal

import genai_prices

from wave_tui.errors import UserError
from wave_tui.llm.base import Usage

PROVIDER_ID = "anthropic"


class UnknownModelPriceError(UserError):
    """The model has no known price, so a session's budget could not be enforced."""


def cost_usd(model: str, usage: Usage) -> Decimal:
    """What `usage` costs on `model`; raises UnknownModelPriceError for a model without a price."""
    # genai-prices counts cached tokens inside input_tokens; Anthropic reports them apart.
    priced = genai_prices.Usage(
        input_tokens=usage.input_tokens
        + usage.cache_read_input_tokens
        + usage.cache_creation_input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens,
        cache_write_tokens=usage.cache_creation_input_tokens,
    )
    try:
        # calc_price reads the snapshot bundled with the package: no network unless an
        # UpdatePrices task is started, which wave_tui never does.
        calculation = genai_prices.calc_price(priced, model, provider_id=PROVIDER_ID)
    except LookupError:
        raise UnknownModelPriceError(
            f"no price is known for model {model!r}, so the budget cannot be enforced: "
            "choose an Anthropic model such as claude-sonnet-4-6 (WAVE_MODEL)"
        ) from None
    return calculation.total_price


def check_priced(model: str) -> None:
    """Fail before any call is made when `model` cannot be priced."""
    cost_usd(model, Usage(input_tokens=0, output_tokens=0))
