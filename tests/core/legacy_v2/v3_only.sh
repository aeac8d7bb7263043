#!/bin/sh
# A VirusTotal v3 lookup with curl (written for the migration scanner's tests): nothing to migrate.
curl -s -H "x-apikey: $VT_API_KEY" "https://www.virustotal.com/api/v3/files/$1" | jq '.data.attributes.last_analysis_stats'
