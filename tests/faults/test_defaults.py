"""The default deadlines stay below the unchanged seed client's timeouts, so its retry never meets a request
of ours still in flight; episodes are as long as the seed server's."""
from __future__ import annotations

from daemon.config import DEFAULTS

SEED_CLIENT_TIMEOUTS = {"reset": 1200.0, "step": 300.0, "evaluate": 300.0}


def test_deadlines_are_below_the_seed_clients_timeouts():
    for operation, client_timeout in SEED_CLIENT_TIMEOUTS.items():
        assert DEFAULTS["deadlines"][operation] < client_timeout, operation


def test_a_step_fits_its_deadline_even_with_an_action_at_the_guests_own_limit():
    vmware, episode = DEFAULTS["vmware"], DEFAULTS["episode"]
    # the guest's limit
    assert vmware["execute_timeout"] > 120 and DEFAULTS["evaluation"]["step_timeout"] > 120
    one_step = vmware["execute_timeout"] + vmware["screenshot_timeout"] + episode["wait_seconds"] + \
        episode["settle_seconds"]
    assert one_step < DEFAULTS["deadlines"]["step"]


def test_episodes_last_16_steps_as_on_the_seed_server():
    assert DEFAULTS["episode"]["max_steps"] == 16
