import pytest

from sla.errors import SlaError
from sla.targets import check_loopback


@pytest.mark.parametrize("url", ["http://127.0.0.1:8866", "http://127.9.9.9", "http://[::1]:8866", "http://localhost:1"])
def test_loopback_targets_are_allowed(url):
    assert check_loopback(url) == url


@pytest.mark.parametrize("url", ["http://10.0.0.5:8866", "http://192.168.1.1", "http://example.com", "ftp://127.0.0.1", "127.0.0.1:8866"])
def test_anything_else_is_refused(url):
    with pytest.raises(SlaError):
        check_loopback(url)
