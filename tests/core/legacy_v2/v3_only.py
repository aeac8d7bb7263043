"""A VirusTotal v3 lookup (written for the migration scanner's tests): nothing to migrate."""

import os

import requests

API = "https://www.virustotal.com/api/v3"


def file_report(sha256):
    headers = {"x-apikey": os.environ["VT_API_KEY"]}
    answer = requests.get(f"{API}/files/{sha256}", headers=headers, timeout=30)
    if answer.status_code == 404:
        return None
    stats = answer.json()["data"]["attributes"]["last_analysis_stats"]
    return stats["malicious"], sum(stats.values())
