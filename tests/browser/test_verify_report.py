"""`verify --format html` in a real browser: Debian's Chromium, headless,
driven through chromedriver. The page loads from a file with the network
off and without a console error, shows the chart and one table row per
tensor of the JSON report, and sorts the table when a column is clicked."""
import json
import os
import subprocess

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("Q_IMPLANT_BIN", os.path.join(ROOT, "target", "release", "q-implant"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")


def fixture(name):
    return os.path.join(ROOT, "fixtures", name)


def verify(*args):
    proc = subprocess.run([BIN, "verify", *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # What a closed network and a root CI user need; no profile, no
    # background traffic.
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


CASES = [
    ("resnet18", ["resnet18.circle", "--reference", "resnet18.circle"]),
    ("mlp", ["mlp.circle", "mlp.qparam/qparam.json"]),
    ("convnet", ["convnet.circle", "convnet.qparam/qparam.json", "--samples", "8"]),
]


@pytest.mark.parametrize("name,args", CASES)
def test_the_report_loads_shows_the_chart_and_every_tensor(browser, name, args, tmp_path):
    args = [fixture(a) if a.endswith((".circle", ".json")) else a for a in args]
    page = tmp_path / "report.html"
    verify(*args, "--format", "html", "-o", page)
    doc = json.loads(verify(*args, "--format", "json").stdout)
    browser.get_log("browser")  # what an earlier page left
    browser.get(page.as_uri())
    assert browser.title.startswith("q-implant verify")
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == [], errors
    chart = browser.find_element(By.ID, "chart")
    assert chart.is_displayed()
    rows = browser.find_elements(By.CSS_SELECTOR, "table#tensors tbody tr")
    assert len(rows) == len(doc["tensors"]) > 0
    outputs = browser.find_elements(By.CSS_SELECTOR, "table#outputs tbody tr")
    assert len(outputs) == len(doc["outputs"])
    points = browser.find_elements(By.CSS_SELECTOR, "#chart circle")
    with_sqnr = [t for t in doc["tensors"] if t["evaluated"] and t["sqnr_db"] is not None]
    assert len(points) == len(with_sqnr)


def test_a_click_sorts_the_table(browser, tmp_path):
    page = tmp_path / "report.html"
    verify(fixture("mlp.circle"), fixture("mlp.qparam/qparam.json"), "--format", "html", "-o", page)
    browser.get(page.as_uri())
    order_column = browser.find_element(By.CSS_SELECTOR, "table#tensors th:nth-child(1)")
    order = lambda: [int(r.find_element(By.CSS_SELECTOR, "td").text)
                     for r in browser.find_elements(By.CSS_SELECTOR, "table#tensors tbody tr")]
    before = order()
    order_column.click()
    assert order() == sorted(before)
    order_column.click()
    assert order() == sorted(before, reverse=True)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
