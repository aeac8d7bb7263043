# Legacy VirusTotal v2 URL check in PowerShell (written for the migration scanner's tests).
param([string]$Url)
$ApiKey = $env:VT_API_KEY
$body = @{ apikey = $ApiKey; resource = $Url }
$report = Invoke-RestMethod -Method Get -Uri 'https://www.virustotal.com/vtapi/v2/url/report' -Body $body
if ($report.response_code -eq 1 -and $report.positives -gt 0) {
    Write-Output "$($report.positives)/$($report.total) engines: $($report.permalink)"
}
$scan = Invoke-RestMethod -Method Post -Uri "https://www.virustotal.com/vtapi/v2/url/scan" -Body @{ apikey = $ApiKey; url = $Url }
