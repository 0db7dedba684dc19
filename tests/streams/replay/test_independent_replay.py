"""The default policy on the independent generator's traffic: what its first run found
(docs/unseen-traffic.md, "Traffic from a generator written blind"), held by the log that
showed it."""

from __future__ import annotations

from alerting.policy import load_policy
from streams.replay.figures import replay_log
from streams.replay.labels import LabelKind
from streams.replay.scenarios.catalogue import build_scenario


def test_campaigns_with_accounts_that_send_no_reporter_page_nobody() -> None:
    """Seed 2 holds campaigns a fifth of whose accounts come through apps that send no
    ``reporter`` object, beside a few old low-trust ones; counted as ordinary viewers
    they made two of its campaigns abuse spikes on small broadcasts."""
    lines = [message.value for message in build_scenario("independent", seed=2)]
    result = replay_log(load_policy(), lines, partitions=4, max_message_bytes=65536)
    card = result.score()
    campaigns = {label.incident for label in result.labels if label.kind is LabelKind.COORDINATED}

    assert len(campaigns) >= 2
    assert card.campaigns_paged == 0
