"""Legacy VirusTotal v2 lookups with requests (written for the migration scanner's tests)."""

import sys

import requests

API_KEY = "5f1c0a7e9b3d2c4f6a8e0b1d3c5f7a9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a"
BASE = "https://www.virustotal.com/vtapi/v2"


def file_report(resource):
    params = {"apikey": API_KEY, "resource": resource}
    answer = requests.get(BASE + "/file/report", params=params, timeout=30).json()
    if answer["response_code"] == 0:
        return None
    return answer["positives"], answer["total"], answer["permalink"]


def scan(path):
    with open(path, "rb") as handle:
        upload = {"file": (path, handle)}
        return requests.post(BASE + "/file/scan", files=upload, data={"apikey": API_KEY}).json()


def url_report(url):
    response = requests.get(f"https://www.virustotal.com/vtapi/v2/url/report?apikey={API_KEY}&resource={url}")
    if response.status_code == 204:
        raise RuntimeError("out of requests, try again in a minute")
    return {engine: r["result"] for engine, r in response.json()["scans"].items() if r["detected"]}


if __name__ == "__main__":
    print(file_report(sys.argv[1]))
