#!/bin/sh
# Legacy VirusTotal v2 lookups with curl (written for the migration scanner's tests).
VT_API_KEY="5f1c0a7e9b3d2c4f6a8e0b1d3c5f7a9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a"
curl -s "https://www.virustotal.com/vtapi/v2/file/report?apikey=${VT_API_KEY}&resource=$1" | jq '.positives'
curl -s -F "file=@$2" -F "apikey=${VT_API_KEY}" https://www.virustotal.com/vtapi/v2/file/scan
curl -s --request POST --url 'https://www.virustotal.com/vtapi/v2/url/scan' -d "apikey=${VT_API_KEY}" -d "url=$3"
curl -s -G https://www.virustotal.com/vtapi/v2/domain/report -d apikey="$VT_API_KEY" -d domain="$4"
curl -s "https://www.virustotal.com/vtapi/v2/ip-address/report?ip=$5&apikey=$VT_API_KEY" | jq -r '.response_code'
