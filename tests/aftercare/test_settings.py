import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import Client

ROOT = Path(settings.BASE_DIR)


def test_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aftercare.settings.production",
        "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-key-for-the-check",
        "ALLOWED_HOSTS": "aftercare.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_enforce_two_factor_and_no_demo_banner():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "aftercare.settings.production", "SECRET_KEY": "k" * 60}
    code = "from django.conf import settings as s; print(s.AFTERCARE_REQUIRE_TWO_FACTOR, s.AFTERCARE_DEMO_BANNER, s.DEBUG)"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.stdout.split() == ["True", "False", "False"], result.stderr


def test_language_and_time_zone():
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert [code for code, _ in settings.LANGUAGES] == ["zh-hans", "en"]
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert (ROOT / "locale" / "en" / "LC_MESSAGES" / "django.mo").exists()


def test_pages_send_a_strict_content_security_policy(world):
    response = Client().get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "script-src 'self'"):
        assert directive in policy
    assert "unsafe-inline" not in policy


def test_signed_in_pages_are_not_stored(world, as_user):
    response = as_user("parent").get("/")
    assert "no-store" in response["Cache-Control"]


def test_templates_have_no_inline_scripts_and_no_outside_assets():
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text()
        for tag in re.findall(r"<script[^>]*>", text):
            assert "src=" in tag, f"inline script in {template}"
        assert not re.search(r"""(src|href)=["']https?://""", text), f"outside asset in {template}"
        assert " on" + "click=" not in text


def test_english_is_the_second_locale(world, as_user):
    client = as_user("parent")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/").content.decode()
    assert "My children" in page
    assert "Sign out" in page
