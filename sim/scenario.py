"""The scenario file: pydantic models of every section, with units in the field names.

A scenario is a YAML document; :func:`sim.validation.load` reads it with line numbers, validates
it against :class:`Scenario` and checks the references between sections. The models here are
frozen: a loaded scenario never changes. Every quantity carries its unit in its name
(``power_w``, ``capacity_mw``, ``hazard_per_day``); fractions are in [0, 1].
"""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

Name = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00-\x1f]+$",
        description="a name other sections refer to",
    ),
]
Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
NonNegFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
PosFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
AnyFloat = Annotated[float, Field(allow_inf_nan=False)]

#: The highest price of one coin, in USD (a trillion: above the world's wealth): a rig's
#: revenue stays finite (1.7e308 made it inf and the relocation logit NaN).
MAX_PRICE_USD = 1e12
#: The largest annual drift |μ| and volatility σ of a GBM price (1,000 % a year; a day's σ
#: is then 52 %): beyond them the path leaves floats within days (σ = 1,000 sends the
#: median price to 0 on the first day, a drift of 1e6 to infinity).
MAX_GBM_PER_YEAR = 10.0
PriceUsd = Annotated[float, Field(gt=0.0, le=MAX_PRICE_USD, allow_inf_nan=False)]
#: The highest power price, in USD/kWh: over a hundred times the highest price cap of a
#: wholesale market (ERCOT's 9 USD/kWh, reached in February 2021). A rig's daily cost stays
#: finite (a price of 1e308 made it inf, its margin NaN, and its rigs mined on whatever they
#: cost).
MAX_POWER_PRICE_USD_PER_KWH = 1000.0
PowerPrice = Annotated[float, Field(ge=0.0, le=MAX_POWER_PRICE_USD_PER_KWH,
                                    allow_inf_nan=False)]

MAX_RIGS = 1_000_000_000  # per row: keeps rig counts far inside int64 (the world has ~10⁷ rigs)
#: The longest wait a rig can be given (hibernation, a sale's delay, a suspension, an
#: outage's return): a century of days keeps every day number far inside the fleet's int32
#: timers (2³¹ days would wrap).
MAX_WAIT_DAYS = 36_500.0
#: The longest transit a route's distribution may have (ten years; longer tails are cut).
MAX_TRANSIT_DAYS = 3650
MAX_BLOCKS = 10**12  # heights and block counts stay exact in int64 and float64
#: The shortest target block time: no proof-of-work chain is mined faster than about one block
#: a second (Ethereum's was 13 s), and faster targets only multiply the blocks (and retargets)
#: each simulated day must draw: 1e-9 s made one day's Poisson mean 8.6e13.
MIN_BLOCK_TIME_S = 1.0
#: The most blocks a coin's first day may be expected to have (sim/chain.py draws a day's blocks
#: from a Poisson law, whose mean numpy refuses above ~9.2e18): 5e7 a day (580 a second, about
#: 600 times the target rate at the shortest block time) keeps even a 50-year run that never
#: retargeted under MAX_BLOCKS, and the Poisson mean eleven orders of magnitude below the limit.
MAX_BLOCKS_PER_DAY = 50_000_000


def _date_not_number(value: Any) -> Any:
    """Refuse numbers as dates: pydantic would read ``0`` as 1970-01-01 (Unix time)."""
    if isinstance(value, int | float):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    return value


Date = Annotated[dt.date, BeforeValidator(_date_not_number)]


PoolWeights = dict[Name, PosFloat]


def _some_pool(pool: str | PoolWeights) -> str | PoolWeights:
    """Refuse ``pool: {}``: it names no pool, and the rigs it would split would vanish."""
    if isinstance(pool, dict) and not pool:
        raise ValueError("an empty mapping names no pool: give one pool (pool: name) or pools "
                         "with weights (pool: {name: 0.7, other: 0.3})")
    return pool


class Model(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are frozen, and a
    number is never read from true/false (YAML's booleans would otherwise count as 1 and 0)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            field = cls.model_fields.get(name) if isinstance(name, str) else None
            kind = _number_kind(field.annotation) if field is not None else ""
            if (kind == "number" and isinstance(value, bool)) or (
                    kind == "numbers" and isinstance(value, list)
                    and any(isinstance(v, bool) for v in value)):
                raise ValueError(f"{name}: expected a number, not true/false")
        return data


def _number_kind(annotation: Any) -> str:
    """"number" for an int or float field (optional or not), "numbers" for a list of them,
    "" otherwise (booleans, strings, models, unions of models)."""
    if typing.get_origin(annotation) is Annotated:
        return _number_kind(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = {_number_kind(a) for a in args}
        return kinds.pop() if len(kinds) == 1 else ""
    if annotation in (int, float):
        return "number"
    if typing.get_origin(annotation) is list and args and _number_kind(args[0]) == "number":
        return "numbers"
    return ""


# ---------------------------------------------------------------------------- prices


class ConstantPrice(Model):
    """A price that never changes."""

    kind: Literal["constant"]
    usd: PriceUsd = Field(description="price of one coin in USD")


class PricePoint(Model):
    """A point of a price table: the price of one coin on `date`."""

    date: Date
    usd: PriceUsd = Field(description="price of one coin in USD")


class TablePrice(Model):
    """A dated price table (historical path); held at the first point's price before it and
    at the last point's after it."""

    kind: Literal["table"]
    interpolation: Literal["step", "linear"] = "linear"
    points: list[PricePoint] = Field(min_length=1)

    @field_validator("points")
    @classmethod
    def _dates_increase(cls, points: list[PricePoint]) -> list[PricePoint]:
        return _dated_in_order(points, "point")


class GbmPrice(Model):
    """Geometric Brownian motion, one draw per day from the `price` random stream."""

    kind: Literal["gbm"]
    initial_usd: PriceUsd
    drift_per_year: float = Field(0.0, ge=-MAX_GBM_PER_YEAR, le=MAX_GBM_PER_YEAR,
                                  allow_inf_nan=False, description="annual log drift μ")
    volatility_per_year: float = Field(ge=0.0, le=MAX_GBM_PER_YEAR, allow_inf_nan=False,
                                       description="annual volatility σ")


Price = Annotated[ConstantPrice | TablePrice | GbmPrice, Field(discriminator="kind")]


# ---------------------------------------------------------------------------- coins


class FeeStep(Model):
    """From `date` on, the mean fees per block are `coins`."""

    date: Date
    coins: NonNegFloat


def _dated_in_order(items: list[Any], what: str) -> list[Any]:
    """`items` (anything with a `date`) in strictly increasing date order."""
    for i in range(1, len(items)):
        if items[i].date <= items[i - 1].date:
            raise ValueError(
                f"dates must increase: {what} {i} ({items[i].date}) is not after "
                f"{what} {i - 1} ({items[i - 1].date})"
            )
    return items


def _steps_increase(steps: list[Any]) -> list[Any]:
    """A schedule's steps in strictly increasing date order."""
    return _dated_in_order(steps, "step")



class Coin(Model):
    """A proof-of-work chain: block time, rewards, price and difficulty rule."""

    name: Name
    rule: Literal["bitcoin", "tracking"] = Field(
        description="'bitcoin': retarget every `retarget_blocks` blocks, clamped; "
        "'tracking': difficulty follows hashrate within the day (Ethereum-like)"
    )
    block_time_s: float = Field(600.0, ge=MIN_BLOCK_TIME_S, allow_inf_nan=False,
                                description="target seconds between blocks")
    retarget_blocks: int = Field(
        2016, ge=1, le=MAX_BLOCKS, description="blocks per difficulty epoch"
    )
    max_adjustment_factor: float = Field(4.0, ge=1.0, description="retarget clamp (×/÷)")
    initial_height: int = Field(
        0, ge=0, le=MAX_BLOCKS, description="height of the last block at start"
    )
    initial_difficulty: PosFloat | None = Field(
        None,
        description="difficulty at start; null = steady state for the initial fleet "
        "(hashrate × block time / 2^32 for bitcoin). Under the bitcoin rule it may not be so "
        "low that the initial fleet would find more than 50,000,000 blocks on the first day",
    )
    blocks_into_epoch: int | None = Field(
        None, ge=0, le=MAX_BLOCKS, description="blocks already mined in the current epoch; null = "
        "initial_height mod retarget_blocks"
    )
    subsidy_coins: PosFloat = Field(description="block subsidy at height 0, in coins")
    halving_interval_blocks: int | None = Field(
        None, ge=1, le=MAX_BLOCKS, description="blocks between halvings; null = no halvings"
    )
    fees_per_block_coins: NonNegFloat = Field(
        0.0, description="mean fees per block, coins (before the first step of fees_schedule)"
    )
    fees_schedule: list[FeeStep] = Field(
        default_factory=list,
        description="later fee levels: from each step's date on, mean fees per block are its "
        "`coins` (e.g. monthly means of a historical fee series)",
    )
    price: Price

    _check_fee_steps = field_validator("fees_schedule")(_steps_increase)

    @field_validator("blocks_into_epoch")
    @classmethod
    def _epoch_fits(cls, blocks: int | None, info: ValidationInfo) -> int | None:
        retarget_blocks = info.data.get("retarget_blocks")
        if blocks is not None and retarget_blocks is not None and blocks >= retarget_blocks:
            raise ValueError(
                f"blocks_into_epoch ({blocks}) must be below retarget_blocks ({retarget_blocks})"
            )
        return blocks


# ---------------------------------------------------------------------------- geography


class CapacityStep(Model):
    """From `date` on, the capacity is `mw`."""

    date: Date
    mw: NonNegFloat


class PriceStep(Model):
    """From `date` on, a region's power costs `usd_per_kwh` (the flat and monthly prices no
    longer apply), or its flat or monthly price plus `surcharge_usd_per_kwh` (a tariff; below
    zero, a rebate). Each step replaces the one before it; before the first, the flat or
    monthly price applies."""

    date: Date
    usd_per_kwh: PowerPrice | None = Field(None, description="the price from this date on")
    surcharge_usd_per_kwh: float | None = Field(
        None, ge=-MAX_POWER_PRICE_USD_PER_KWH, le=MAX_POWER_PRICE_USD_PER_KWH,
        allow_inf_nan=False,
        description="added to the flat or monthly price from this date on (negative: a rebate)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> PriceStep:
        if (self.usd_per_kwh is None) == (self.surcharge_usd_per_kwh is None):
            raise ValueError("a price step sets exactly one of usd_per_kwh (the price) and "
                             "surcharge_usd_per_kwh (added to the usual price)")
        return self


class Region(Model):
    """A node of the region graph: a province, a country, or a group of them."""

    name: Name
    parent: Name | None = Field(None, description="enclosing region (province → country)")
    label: str | None = Field(None, description="display name")
    electricity_usd_per_kwh: PowerPrice = Field(description="price miners pay for power")
    electricity_monthly_usd_per_kwh: list[PowerPrice] | None = Field(
        None,
        min_length=12,
        max_length=12,
        description="12 monthly prices (Jan..Dec) replacing the flat price, e.g. Sichuan's "
        "cheap wet season",
    )
    electricity_schedule: list[PriceStep] = Field(
        default_factory=list,
        description="dated price changes (a new price, or a surcharge on the usual one), e.g. "
        "Kazakhstan's tariff on miners from January 2022",
    )
    electricity_spread_usd_per_kwh: PowerPrice = Field(
        0.0,
        description="half-width of the spread of power prices among the region's sites "
        "(uniform, in 5 equal tiers): the dearest sites switch off first when margins fall",
    )
    carbon_g_per_kwh: NonNegFloat = Field(description="carbon intensity of the power used")
    capacity_mw: NonNegFloat | None = Field(
        None,
        description="hosting capacity for rigs outside facilities at start; null = unlimited",
    )
    capacity_schedule: list[CapacityStep] = Field(
        default_factory=list, description="later capacity steps (outside facilities)"
    )
    risk: NonNegFloat = Field(0.0, description="baseline perceived regulatory risk")

    _check_steps = field_validator("capacity_schedule")(_steps_increase)
    _check_price_steps = field_validator("electricity_schedule")(_steps_increase)

    @model_validator(mode="after")
    def _surcharges_leave_a_price(self) -> Region:
        usual = self.electricity_monthly_usd_per_kwh or [self.electricity_usd_per_kwh]
        for i, step in enumerate(self.electricity_schedule):
            if step.surcharge_usd_per_kwh is not None and (
                    min(usual) + step.surcharge_usd_per_kwh < 0):
                raise ValueError(
                    f"electricity_schedule step {i} ({step.date}): a rebate of "
                    f"{-step.surcharge_usd_per_kwh:g} USD/kWh is more than the usual price "
                    f"({min(usual):g} at its lowest); set usd_per_kwh instead")
        return self


class FixedTransit(Model):
    distribution: Literal["fixed"]
    days: NonNegFloat = Field(le=MAX_TRANSIT_DAYS)


class UniformTransit(Model):
    distribution: Literal["uniform"]
    low_days: NonNegFloat
    high_days: NonNegFloat

    @field_validator("high_days")
    @classmethod
    def _ordered(cls, high_days: float, info: ValidationInfo) -> float:
        low_days = info.data.get("low_days")
        if low_days is not None and high_days <= low_days:
            raise ValueError(f"high_days ({high_days}) must be greater than low_days ({low_days})")
        return high_days


class LognormalTransit(Model):
    distribution: Literal["lognormal"]
    median_days: PosFloat
    sigma: PosFloat = Field(description="standard deviation of log(days)")


class GammaTransit(Model):
    distribution: Literal["gamma"]
    mean_days: PosFloat
    shape: PosFloat


class TriangularTransit(Model):
    distribution: Literal["triangular"]
    low_days: NonNegFloat
    mode_days: NonNegFloat
    high_days: NonNegFloat

    @model_validator(mode="after")
    def _ordered(self) -> TriangularTransit:
        low, mode, high = self.low_days, self.mode_days, self.high_days
        if not (low <= mode <= high and low < high):
            raise ValueError("need low_days ≤ mode_days ≤ high_days and low_days < high_days")
        return self


Transit = Annotated[
    FixedTransit | UniformTransit | LognormalTransit | GammaTransit | TriangularTransit,
    Field(discriminator="distribution"),
]


class Route(Model):
    """A directed edge of the region graph that rigs can be shipped along."""

    origin: Name = Field(description="region rigs leave (its descendants included)")
    destination: Name = Field(description="region rigs go to (its descendants included)")
    transit: Transit = Field(description="distribution of the transit time in days")
    cost_usd_per_rig: NonNegFloat = Field(0.0, description="freight, tariff and handling per rig")
    capacity_rigs_per_day: PosFloat | None = Field(
        None, description="rigs the route carries a day, whole rigs of the cumulative rate (0.5: "
        "one every other day); null = unlimited")
    bidirectional: bool = False


# ---------------------------------------------------------------------------- hardware & fleet


class Hardware(Model):
    """A rig model."""

    name: Name
    coin: Name = Field(description="the coin it mines")
    hashrate_hs: PosFloat = Field(description="hashes per second of one rig")
    power_w: PosFloat = Field(description="wall power of one rig")
    release: Date | None = Field(
        None, description="launch date, for reference only: the model does not use it (rigs "
        "arrive when the fleet, purchases and orders say)"
    )
    price_usd: NonNegFloat = Field(0.0, description="price of a new rig (sets resale value)")


class FleetEntry(Model):
    """Rigs present at the start."""

    region: Name = Field(description="where the rigs are (a region without sub-regions)")
    hardware: Name = Field(description="the rig model")
    rigs: int = Field(ge=1, le=MAX_RIGS, description="number of rigs")
    pool: Name | PoolWeights = Field(
        description="a pool, or pools with weights (normalised) to split the rigs"
    )
    facility: Name | None = Field(
        None, description="the facility they are in (in `region`); null = the region's general "
        "capacity"
    )

    _check_pool = field_validator("pool")(_some_pool)


class Purchase(Model):
    """New rigs bought at a steady rate; they queue for hosting capacity in `region`."""

    region: Name = Field(description="where the rigs are delivered (a region without "
                         "sub-regions)")
    hardware: Name = Field(description="the rig model")
    pool: Name | PoolWeights = Field(
        description="a pool, or pools with weights (normalised) to split the rigs"
    )
    start: Date = Field(description="first day of deliveries")
    end: Date = Field(description="the day deliveries stop: the last rigs arrive the day before "
                      "(unlike the scenario's own `end`, which is simulated)")
    rigs_per_day: PosFloat = Field(le=MAX_RIGS)

    _check_pool = field_validator("pool")(_some_pool)

    @field_validator("end")
    @classmethod
    def _ordered(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        return end


# ---------------------------------------------------------------------------- pools


class PoolStopNewUsers(Model):
    kind: Literal["stop_new_users"]
    date: Date
    regions: list[Name] | None = Field(None, min_length=1, description="null = everywhere")


class PoolStopService(Model):
    kind: Literal["stop_service"]
    date: Date
    regions: list[Name] | None = Field(None, min_length=1, description="null = everywhere")
    vpn_leakage: Fraction = Field(0.0, description="fraction of miners who stay via VPN")


class PoolShutdown(Model):
    kind: Literal["shutdown"]
    date: Date = Field(description="the day the pool stops entirely")
    wind_down_days: int = Field(
        0,
        ge=0,
        le=3650,
        description="miners leave at an even pace over this many days before `date`",
    )


PoolEvent = Annotated[
    PoolStopNewUsers | PoolStopService | PoolShutdown, Field(discriminator="kind")
]


class Pool(Model):
    name: Name
    coin: Name = Field(description="the coin it mines")
    fee: Fraction = Field(description="pool fee, fraction of revenue")
    home_region: Name | None = Field(None, description="where the pool is based (affinity)")
    regions: list[Name] | None = Field(
        None, min_length=1, description="regions served; null = all"
    )
    events: list[PoolEvent] = Field(default_factory=list)


# ---------------------------------------------------------------------------- facilities & services


class Order(Model):
    """Rigs a facility bought, delivered on `date` into the facility."""

    date: Date
    hardware: Name = Field(description="the rig model")
    rigs: int = Field(ge=1, le=MAX_RIGS)
    pool: Name = Field(description="the pool the rigs mine for")


class Facility(Model):
    """A hosting site or a self-mining farm with its own capacity and books."""

    name: Name
    region: Name = Field(description="where it is (a region without sub-regions)")
    mode: Literal["self_mining", "hosting"] = Field(
        description="self_mining: books hold the rigs' mining revenue; hosting: they hold "
        "hosting fees"
    )
    capacity: list[CapacityStep] = Field(
        min_length=1, description="capacity schedule; the first step, dated on or before the "
        "start, applies from the start"
    )
    power_usd_per_kwh: PowerPrice | None = Field(
        None, description="the facility's power price; null = the region's"
    )
    hosting_fee_usd_per_kwh: PowerPrice = Field(
        0.0, description="what hosted rigs pay on top of power (hosting mode)"
    )
    fixed_cost_usd_per_month: NonNegFloat = 0.0
    orders: list[Order] = Field(default_factory=list)

    _check_steps = field_validator("capacity")(_steps_increase)


class Service(Model):
    """An exchange, wallet or mining-software provider that withdraws from regions."""

    name: Name
    kind: Literal["exchange", "wallet", "software"]
    regions: list[Name] = Field(min_length=1)
    stop_new_users: Date | None = None
    close: Date | None = Field(None, description="existing accounts closed by this date")
    haircut: Fraction = Field(
        description="revenue lost to a harder off-ramp once closed (half of it after "
        "stop_new_users)"
    )
    risk: NonNegFloat = Field(0.0, description="perceived risk added once it withdraws")

    @field_validator("close")
    @classmethod
    def _ordered(cls, close: dt.date | None, info: ValidationInfo) -> dt.date | None:
        stop_new_users = info.data.get("stop_new_users")
        if close is not None and stop_new_users is not None and close < stop_new_users:
            raise ValueError(f"close ({close}) is before stop_new_users ({stop_new_users})")
        return close


# ---------------------------------------------------------------------------- policies


class PolicyBase(Model):
    id: Name | None = Field(None, description="name a `lift` can refer to")
    date: Date
    actor: str | None = Field(None, description="who decides (for the event log)")
    description: str | None = None


class RegionalPolicy(PolicyBase):
    region: Name = Field(description="region (its descendants included)")


class Announcement(RegionalPolicy):
    kind: Literal["announcement"]
    risk: NonNegFloat = Field(description="perceived risk added in the region")
    exit_rate_per_day: Fraction = Field(
        0.0, description="fraction of online rigs leaving pre-emptively each day"
    )
    suspend_rate_per_day: Fraction = Field(
        0.0, description="fraction of online rigs switching off each day to wait and see "
        "(they do not decide anything, and switch on by the margin after `suspend_days`)"
    )
    suspend_days: PosFloat | None = Field(
        None, le=MAX_WAIT_DAYS, description="how long a rig that switched off to wait stays "
        "off (needed with suspend_rate_per_day)"
    )

    @model_validator(mode="after")
    def _suspension_has_a_length(self) -> Announcement:
        if self.suspend_rate_per_day > 0 and self.suspend_days is None:
            raise ValueError("suspend_rate_per_day needs suspend_days (how long rigs wait)")
        return self


def _expected_days() -> Any:
    return Field(
        None, le=MAX_WAIT_DAYS,
        description="how long miners expect it to last from its date (an announced end): "
        "forced-off rigs then value waiting (hibernating) as mining at home for what is left "
        "of the horizon after it; null = no known end. It does not end the policy (a `lift` "
        "does)")


class MiningBan(RegionalPolicy):
    kind: Literal["mining_ban"]
    hazard_per_day: NonNegFloat = Field(description="enforcement hazard on rigs at full strength")
    ramp_days: NonNegFloat = Field(0.0, description="days to reach full strength")
    grace_days: NonNegFloat = Field(0.0, description="days before enforcement starts")
    underground_detection_per_day: NonNegFloat | None = Field(
        None, description="detection hazard of underground rigs; null = going underground is "
        "not an option"
    )
    expected_days: PosFloat | None = _expected_days()


class PowerCutoff(RegionalPolicy):
    kind: Literal["power_cutoff"]
    expected_days: PosFloat | None = _expected_days()


class PowerOutage(RegionalPolicy):
    """The grid goes down: rigs stop without deciding anything and come back when it ends."""

    kind: Literal["power_outage"]
    days: PosFloat | None = Field(None, description="how long it lasts; null = until lifted")
    share: Fraction = Field(
        1.0, description="share of the region's running rigs that lose power (each rig by a "
        "draw; below 1 the outage needs `days`, and a lift does not end it early)"
    )
    return_days: NonNegFloat = Field(
        0.0, le=MAX_WAIT_DAYS, description="partial outage: rigs come back spread evenly "
        "over this many days after `days` (farm by farm), instead of all at once"
    )

    def over_before(self, start: dt.date) -> bool:
        """Whether it ended before a run starting on `start` (it then does nothing)."""
        return self.days is not None and (self.date - start).days + self.days <= 0

    @model_validator(mode="after")
    def _partial_outage_has_a_length(self) -> PowerOutage:
        if self.share < 1.0 and self.days is None:
            raise ValueError("a partial outage (share below 1) needs days")
        if self.share <= 0.0:
            raise ValueError("share must be above 0 (an outage of no rig)")
        return self


class PoolServiceBan(RegionalPolicy):
    kind: Literal["pool_service_ban"]
    pools: list[Name] | None = Field(
        None, min_length=1, description="pools concerned; null = all"
    )
    vpn_leakage: Fraction = Field(0.0, description="fraction of miners who stay via VPN")


class ExchangeBan(RegionalPolicy):
    kind: Literal["exchange_ban"]
    haircut: Fraction = Field(description="revenue lost to the harder off-ramp")


class Incentive(RegionalPolicy):
    kind: Literal["incentive"]
    electricity_discount_usd_per_kwh: NonNegFloat = 0.0
    capacity_mw: NonNegFloat = Field(0.0, description="hosting capacity added")
    risk_reduction: NonNegFloat = 0.0


class Lift(PolicyBase):
    kind: Literal["lift"]
    policy: Name = Field(description="id of the policy that ends")


Policy = Annotated[
    Announcement | MiningBan | PowerCutoff | PowerOutage | PoolServiceBan | ExchangeBan
    | Incentive | Lift,
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------------------- behaviour


class OptionConstants(Model):
    """Alternative-specific constants of the forced-off decision (utility units)."""

    relocate: AnyFloat = 0.0
    underground: AnyFloat = 0.0
    hibernate: AnyFloat = 0.0
    sell: AnyFloat = 0.0
    retire: AnyFloat = 0.0


class PoolChoice(Model):
    """Logit weights of the pool a miner picks when its pool stops serving it."""

    fee: AnyFloat = Field(50.0, description="utility lost per unit of fee (0.01 fee → −0.5)")
    size: AnyFloat = Field(1.0, description="utility per unit of log(share)")
    affinity: AnyFloat = Field(1.0, description="utility of a pool based in the miner's country")


class Behaviour(Model):
    """How miners decide. Utilities are in USD per rig scaled by `profit_scale_usd`."""

    horizon_days: PosFloat = Field(180.0, description="planning horizon of a decision")
    profit_scale_usd: PosFloat = Field(
        500.0, description="USD per rig that make one unit of utility (logit scale)"
    )
    risk_aversion: NonNegFloat = Field(2.0, description="utility lost per unit of risk")
    constants: OptionConstants = Field(default_factory=OptionConstants)
    decision_rate_per_day: Fraction = Field(
        0.2, description="fraction of forced-off rigs deciding each day"
    )
    hibernate_days: PosFloat = Field(30.0, le=MAX_WAIT_DAYS,
                                     description="hibernating rigs decide again after")
    sell_delay_days: NonNegFloat = Field(14.0, le=MAX_WAIT_DAYS,
                                         description="days before a sold rig ships")
    resale_fraction: Fraction = Field(0.5, description="resale value / new price")
    scrap_usd: NonNegFloat = Field(0.0, description="value of a retired rig")
    switch_off_margin: AnyFloat = Field(
        0.0, description="online rigs switch off when (revenue − cost)/cost falls below this"
    )
    switch_on_margin: AnyFloat = Field(
        0.1, description="offline rigs switch on when (revenue − cost)/cost rises above this"
    )
    capacity_lookahead_days: NonNegFloat = Field(
        60.0, description="capacity that will exist within this many days can be booked"
    )
    destinations: list[Name] | None = Field(
        None, description="regions rigs may relocate to; null = every region with a route"
    )
    pool_choice: PoolChoice = Field(default_factory=PoolChoice)

    @field_validator("switch_on_margin")
    @classmethod
    def _hysteresis(cls, switch_on_margin: float, info: ValidationInfo) -> float:
        switch_off_margin = info.data.get("switch_off_margin")
        if switch_off_margin is not None and switch_on_margin < switch_off_margin:
            raise ValueError(
                f"switch_on_margin ({switch_on_margin}) must not be below "
                f"switch_off_margin ({switch_off_margin})"
            )
        return switch_on_margin


# ---------------------------------------------------------------------------- observations


class ObservedHashrate(Model):
    """An observed 7-day-mean network hashrate (overlaid in plots, compared by backtests)."""

    date: Date
    hashrate_hs: PosFloat


class ObservedEvent(Model):
    """A dated event from the sources (shown on report timelines)."""

    date: Date
    title: str
    source: str = ""


class CheckBase(Model):
    id: Name | None = Field(None, description="a short label for tables")
    tier: Literal["headline", "secondary", "info"] = Field(
        "headline", description="headline: must hold (the backtest's exit code); secondary: "
        "should hold (reported; required with --strict); info: context only")
    source: str = Field("", description="where the observed figure comes from")
    low: AnyFloat | None = Field(None, description="lower end of the acceptance band")
    high: AnyFloat | None = Field(None, description="upper end of the acceptance band")

    @model_validator(mode="after")
    def _band(self) -> CheckBase:
        if self.low is not None and self.high is not None and self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        return self


def _not_before(later: dt.date | None, earlier: dt.date | None, later_name: str,
                earlier_name: str) -> None:
    """Refuse `later` dated before `earlier` (a reversed window or band), when both are set."""
    if later is not None and earlier is not None and later < earlier:
        raise ValueError(f"{later_name} ({later}) is before {earlier_name} ({earlier}); "
                         "swap them")


class HashrateCheck(CheckBase):
    """7-day-mean network hashrate on a date (H/s)."""

    metric: Literal["hashrate"]
    date: Date
    value: PosFloat | None = None


class TroughCheck(CheckBase):
    """Lowest 7-day-mean hashrate within a window (H/s), and optionally when it falls."""

    metric: Literal["trough"]
    window_start: Date
    window_end: Date
    value: PosFloat | None = None
    date: Date | None = Field(None, description="observed date of the trough")
    date_low: Date | None = None
    date_high: Date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> TroughCheck:
        _not_before(self.window_end, self.window_start, "window_end", "window_start")
        _not_before(self.date_high, self.date_low, "date_high", "date_low")
        return self


class AdjustmentCheck(CheckBase):
    """The difficulty adjustment (%) nearest to `date` within `window_days`."""

    metric: Literal["difficulty_adjustment"]
    date: Date
    value: AnyFloat | None = None
    window_days: NonNegFloat = 4.0


class BlockTimeCheck(CheckBase):
    """Mean block time (s) in the epoch that ends with the retarget nearest to `date`."""

    metric: Literal["epoch_block_time"]
    date: Date
    value: PosFloat | None = None
    window_days: NonNegFloat = 4.0


class RecoveryCheck(CheckBase):
    """First date after `after` on which the 7-day mean regains the mean of `reference`."""

    metric: Literal["recovery"]
    reference: Date = Field(description="day whose 7-day mean is the level to regain")
    after: Date = Field(description="search from this day (e.g. the trough)")
    date: Date | None = Field(None, description="observed date of recovery")
    date_low: Date | None = None
    date_high: Date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> RecoveryCheck:
        _not_before(self.date_high, self.date_low, "date_high", "date_low")
        return self


class ShareCheck(CheckBase):
    """Share (0–1) of a region's or a pool's hashrate on a date."""

    metric: Literal["region_share", "pool_share"]
    name: Name = Field(description="the region or pool")
    date: Date
    value: Fraction | None = None


class ChangeCheck(CheckBase):
    """Relative change (%) of the 7-day-mean hashrate between two dates."""

    metric: Literal["hashrate_change"]
    start: Date
    end: Date
    value: AnyFloat | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ChangeCheck:
        _not_before(self.end, self.start, "end", "start")
        return self


Check = Annotated[
    HashrateCheck | TroughCheck | AdjustmentCheck | BlockTimeCheck | RecoveryCheck | ShareCheck
    | ChangeCheck,
    Field(discriminator="metric"),
]


class Observed(Model):
    """What was observed, for backtests, calibration and plots."""

    coin: Name = Field(description="the coin the figures are about")
    source: str = Field("", description="where the figures come from")
    hashrate: list[ObservedHashrate] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)
    events: list[ObservedEvent] = Field(default_factory=list)


# ---------------------------------------------------------------------------- the scenario


class Scenario(Model):
    """A whole scenario file."""

    name: Name
    description: str = ""
    start: Date = Field(description="first simulated day")
    end: Date = Field(description="last simulated day (inclusive)")
    seed: int | None = Field(None, ge=0, description="master seed; null = drawn and recorded")
    shock_date: Date | None = Field(
        None, description="the day summary.csv's pre-shock level and trough count from; null = "
        "the first dated intervention. Set it where arms of an experiment remove interventions, "
        "so that every arm is measured from the same day (outside the run: no shock, as for a "
        "run cut short before every intervention)")
    resolution: Literal["cohort", "rig"] = Field(
        "cohort", description="cohort: rows are counts of identical rigs; rig: one row per rig"
    )
    coins: list[Coin] = Field(min_length=1)
    # upper bounds: the fleet's tally packs these indices into 16, 12, 12 and 16 bits
    # (sim/state.py, GROUP_COLUMNS)
    regions: list[Region] = Field(min_length=1, max_length=65_535)
    routes: list[Route] = Field(default_factory=list)
    hardware: list[Hardware] = Field(min_length=1, max_length=4_095)
    pools: list[Pool] = Field(min_length=1, max_length=4_095)
    fleet: list[FleetEntry] = Field(min_length=1)
    purchases: list[Purchase] = Field(default_factory=list)
    facilities: list[Facility] = Field(default_factory=list, max_length=65_534)
    services: list[Service] = Field(default_factory=list)
    policies: list[Policy] = Field(default_factory=list)
    behaviour: Behaviour = Field(default_factory=Behaviour)
    observed: Observed | None = Field(None, description="observed figures (backtests, plots)")

    @field_validator("end")
    @classmethod
    def _dates(cls, end: dt.date, info: ValidationInfo) -> dt.date:
        start = info.data.get("start")
        if start is None:
            return end
        if end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        if (end - start).days > 365 * 50:
            raise ValueError(f"a scenario may span at most 50 years (start is {start})")
        return end

    @model_validator(mode="after")
    def _across_sections(self) -> Scenario:
        """Checks that need several sections, each error at the field at fault."""
        errors = [*_duplicate_names(self), *_first_day_blocks(self)]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def __repr__(self) -> str:
        """One line for a notebook (model_dump() gives everything): the full pydantic repr of
        china-2021 is some 70 kB."""
        return (f"<sim.Scenario {self.name!r} {self.start} … {self.end}, {len(self.regions)} "
                f"regions, {len(self.coins)} coin(s), {sum(f.rigs for f in self.fleet):,} rigs, "
                f"{len(self.policies)} policies, {self.resolution} resolution>")

    @property
    def leaf_regions(self) -> list[str]:
        """Names of the regions without sub-regions (where rigs are), in the file's order."""
        parents = {r.parent for r in self.regions}
        return [r.name for r in self.regions if r.name not in parents]

    @property
    def num_days(self) -> int:
        """Number of simulated days, `start` and `end` included."""
        return (self.end - self.start).days + 1


# ------------------------------------------------------------------ checks across sections


def _error(loc: tuple[str | int, ...], value: Any, message: str) -> InitErrorDetails:
    """A validation error at `loc` (a field path) with a message of our own."""
    return InitErrorDetails(type=PydanticCustomError("value_error", message), loc=loc,
                            input=value)


#: Sections whose items other sections refer to by name, and what one item is called.
_NAMED = {"coins": "coin", "regions": "region", "hardware": "hardware model", "pools": "pool",
          "facilities": "facility", "services": "service"}


def _duplicate_names(scenario: Scenario) -> list[InitErrorDetails]:
    """A name (or policy id) given twice, at its second use. Checked here, before the
    references are resolved, so that no later message lists the name twice."""
    errors = []
    sections = [(s, what, "name", [item.name for item in getattr(scenario, s)])
                for s, what in _NAMED.items()]
    sections.append(("policies", "policy", "id", [p.id for p in scenario.policies]))
    for section, what, key, names in sections:
        first: dict[str, int] = {}
        for i, name in enumerate(names):
            if name is None:
                continue
            if name in first:
                errors.append(_error((section, i, key), name, (
                    f"duplicate {what} {key} '{name}' (also {section}.{first[name]}); "
                    f"{key}s must be unique")))
            first.setdefault(name, i)
    return errors


def _first_day_blocks(scenario: Scenario) -> list[InitErrorDetails]:
    """A bitcoin-rule coin whose initial_difficulty makes its first day's expected blocks
    exceed MAX_BLOCKS_PER_DAY, with every rig of the initial fleet switched on.

    Blocks arrive at hashrate / (difficulty · 2³²) a second (sim/chain.py). A tracking coin and
    a null initial_difficulty (steady state) find blocks at the target rate, which the bound on
    block_time_s keeps small; an explicit difficulty far below the fleet's steady state does not.
    """
    from sim.chain import (  # (sim/chain.py imports this module)
        SECONDS_PER_DAY,
        TWO_32,
        steady_state_difficulty,
    )
    from sim.theory import block_rate_per_day

    coin_of = {h.name: h.coin for h in scenario.hardware}
    rate_hs = {h.name: h.hashrate_hs for h in scenario.hardware}
    errors = []
    for i, coin in enumerate(scenario.coins):
        if coin.rule != "bitcoin" or coin.initial_difficulty is None:
            continue
        hashrate_hs = sum(f.rigs * rate_hs[f.hardware] for f in scenario.fleet
                          if coin_of.get(f.hardware) == coin.name)
        blocks = block_rate_per_day(hashrate_hs, coin.initial_difficulty)
        if blocks > MAX_BLOCKS_PER_DAY:
            lowest = hashrate_hs * SECONDS_PER_DAY / (MAX_BLOCKS_PER_DAY * TWO_32)
            steady = steady_state_difficulty(coin, hashrate_hs)
            errors.append(_error(("coins", i, "initial_difficulty"), coin.initial_difficulty, (
                f"with the initial fleet's {hashrate_hs:.3g} H/s, a difficulty of "
                f"{coin.initial_difficulty:.3g} means some {blocks:.3g} blocks on the first "
                f"day, more than {MAX_BLOCKS_PER_DAY:,}: give at least {lowest:.3g} (the "
                f"fleet's steady state, {SECONDS_PER_DAY / coin.block_time_s:g} blocks a day, "
                f"is {steady:.3g}), or leave it out (null: the steady state)")))
    return errors
