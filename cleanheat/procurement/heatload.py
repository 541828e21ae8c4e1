"""Design heat load and seasonal heat demand of a rural house. Pure NumPy, no Django: every
function takes scalars or arrays alike, so the advisor for one household and the batch for the
whole city run the same arithmetic.

Method (steady-state heat loss, as GB 50736 §5.2 does for design loads):
  A single-storey detached house of heated area A (m²) with a square plan: perimeter 4·√A,
  storey height h, windows = window_ratio · A, walls = 4·√A·h − windows, roof = floor = A.
  Heat-loss coefficient  H (W/K) = U_wall·walls + U_window·windows + U_roof·A + U_floor·A
                                   + 0.34 · n · A · h        (0.34 Wh/(m³·K) = ρ·c of air, n in 1/h)
  Design load            Q (kW)  = H · (t_indoor − t_design) / 1000
  Degree-days            DD (K·d) = heating days · (t_indoor − t_mean of the heating period)
  Seasonal heat          E (kWh) = H · DD · 24 / 1000 · usage factor
                                   (rural families heat part of the house, part of the day)
  Envelope retrofit: the retrofit U-values and air-change rate replace the original ones; when
  the household's measured efficiency gain (节能改造能效提升 %) is registered, it scales the
  un-retrofitted result instead, because a measurement beats a table.
"""
import numpy as np

AIR_HEAT_CAPACITY = 0.34  # Wh/(m³·K)


def heat_loss_coefficient(area, wall_u, roof_u, window_u, floor_u, air_changes, storey_height, window_ratio):
    """H in W/K for heated area `area` (m²)."""
    area = np.asarray(area, dtype=float)
    windows = window_ratio * area
    walls = np.maximum(4.0 * np.sqrt(area) * storey_height - windows, 0.0)
    transmission = wall_u * walls + window_u * windows + (roof_u + floor_u) * area
    ventilation = AIR_HEAT_CAPACITY * air_changes * area * storey_height
    return transmission + ventilation


def degree_days(heating_days, indoor_temp, mean_temp):
    return heating_days * (indoor_temp - mean_temp)


def design_load_kw(h, indoor_temp, design_temp):
    return h * (indoor_temp - design_temp) / 1000.0


def seasonal_heat_kwh(h, dd, usage_factor):
    return h * dd * 24.0 / 1000.0 * usage_factor


def envelope_h(area, env: dict, retrofitted, gain_pct):
    """H for houses described by envelope table values `env` (each a scalar or per-house array,
    keys as in EnvelopeType), applying retrofit as the module docstring says."""
    retrofitted = np.asarray(retrofitted, dtype=bool)
    gain = np.asarray(np.nan if gain_pct is None else gain_pct, dtype=float)
    geometry = (env["storey_height"], env["window_ratio"])
    original = heat_loss_coefficient(area, env["wall_u"], env["roof_u"], env["window_u"], env["floor_u"],
                                     env["air_changes"], *geometry)
    table_retrofit = heat_loss_coefficient(area, env["retrofit_wall_u"], env["retrofit_roof_u"],
                                           env["retrofit_window_u"], env["floor_u"],
                                           env["retrofit_air_changes"], *geometry)
    measured = original * (1.0 - np.nan_to_num(gain, nan=0.0) / 100.0)
    return np.where(retrofitted, np.where(np.isnan(gain), table_retrofit, measured), original)
