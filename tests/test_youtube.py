import pytest

from companion.course import youtube


@pytest.mark.parametrize("url, kind, video, playlist, start", [
    ("https://www.youtube.com/watch?v=aircAruvnKk", "video", "aircAruvnKk", None, None),
    ("https://youtu.be/aircAruvnKk?t=90", "video", "aircAruvnKk", None, 90),
    ("https://m.youtube.com/watch?v=aircAruvnKk&t=1m30s", "video", "aircAruvnKk", None, 90),
    ("https://www.youtube.com/watch?v=aircAruvnKk&list=PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi", "video", "aircAruvnKk",
     "PLZHQObOWTQDNU6R1_67000Dx_ZCJB-3pi", None),
    ("https://www.youtube.com/watch?v=-QH8fRhqFHM", "video", "-QH8fRhqFHM", None, None),
    ("https://www.youtube.com/playlist?list=PLZHQObOWTQDPD3MizzM2xVFitgF8hE_ab", "playlist", None,
     "PLZHQObOWTQDPD3MizzM2xVFitgF8hE_ab", None),
    ("https://www.youtube.com/@WelchLabsVideo", "channel", None, None, None),
    ("https://www.youtube.com/c/RobertMilesAI", "channel", None, None, None),
    ("https://axrp.net/episode/2023/02/04/x.html", "other", None, None, None),
    ("https://www.youtube.com/watch?v=tooshort", "other", None, None, None),
    ("not a url at all", "other", None, None, None),
])
def test_parse_classifies_links_as_a_learner_would_meet_them(url, kind, video, playlist, start):
    link = youtube.parse(url)
    assert (link.kind, link.video, link.playlist, link.start) == (kind, video, playlist, start)


@pytest.mark.parametrize("text, seconds", [("90", 90), ("90s", 90), ("1m30s", 90), ("1h2m3s", 3723), ("x", None), ("", None)])
def test_parse_time_reads_youtube_start_times(text, seconds):
    assert youtube.parse_time(text) == seconds


@pytest.mark.parametrize("url, ok", [("https://a.b/c", True), ("http://a.b", True), ("javascript:alert(1)", False),
                                     ("data:text/html,x", False), ("ftp://a.b", False), ("https://a b", False)])
def test_only_http_links_count_as_links(url, ok):
    assert youtube.is_http_url(url) is ok
