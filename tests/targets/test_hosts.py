"""Where load may go: loopback by default; another host only with --allow-remote (never exercised
with traffic here: the decision function and the refusals are tested alone)."""

import pytest

from sla.errors import SlaError
from sla.targets import check_host, host_decision


@pytest.mark.parametrize("url", ["http://127.0.0.1:8866", "http://127.9.9.9", "http://[::1]:8866", "http://localhost:1"])
def test_loopback_targets_are_allowed(url):
    assert host_decision(url) is None
    assert check_host(url) == url


@pytest.mark.parametrize("url", ["http://10.0.0.5:8866", "http://192.168.1.1", "http://example.com"])
def test_another_host_is_refused_without_consent_and_the_refusal_names_the_flag(url):
    reason = host_decision(url)
    assert reason is not None and "--allow-remote" in reason and url in reason
    with pytest.raises(SlaError, match="--allow-remote"):
        check_host(url)


@pytest.mark.parametrize("url", ["http://10.0.0.5:8866", "http://example.com"])
def test_another_host_is_allowed_with_explicit_consent(url):
    assert host_decision(url, allow_remote=True) is None


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "127.0.0.1:8866", "http://"])
def test_what_is_not_an_http_url_is_refused_even_with_consent(url):
    assert "not an http(s) URL" in host_decision(url, allow_remote=True)


def test_the_scrape_address_is_the_service_port_or_its_metrics_port():
    from sla.targets.hosts import scrape_address

    assert scrape_address("http://127.0.0.1:8080") == "127.0.0.1:8080"
    assert scrape_address("http://127.0.0.1:8080/", 8002) == "127.0.0.1:8002"  # Triton's metrics port
    assert scrape_address("http://[::1]:9000") == "[::1]:9000"
    assert scrape_address("https://localhost") == "localhost:443"
