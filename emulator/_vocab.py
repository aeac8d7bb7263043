"""Fixed word lists the world generator draws from: engines, file types, names, places.

Engine names are plain strings naming real products, used only as labels; every verdict the
emulator attaches to them is invented.
"""

from __future__ import annotations

__all__ = [
    "AS_SUFFIXES",
    "BENIGN_TLDS",
    "COUNTRIES",
    "FILE_ENGINES",
    "FILE_TYPES",
    "FileType",
    "MALICIOUS_TLDS",
    "REGISTRARS",
    "RESOLVERS",
    "SYLLABLES",
    "URL_CATEGORIES_BENIGN",
    "URL_CATEGORIES_MALICIOUS",
    "URL_ENGINES",
]

#: Anti-malware engines reporting on files (70).
FILE_ENGINES: tuple[str, ...] = (
    "ALYac",
    "APEX",
    "AVG",
    "Acronis",
    "AhnLab-V3",
    "Alibaba",
    "Antiy-AVL",
    "Arcabit",
    "Avast",
    "Avira",
    "Baidu",
    "BitDefender",
    "Bkav",
    "CAT-QuickHeal",
    "CMC",
    "ClamAV",
    "CrowdStrike",
    "Cybereason",
    "Cylance",
    "Cynet",
    "DeepInstinct",
    "DrWeb",
    "ESET-NOD32",
    "Elastic",
    "Emsisoft",
    "F-Secure",
    "FireEye",
    "Fortinet",
    "GData",
    "Google",
    "Gridinsoft",
    "Ikarus",
    "Jiangmin",
    "K7AntiVirus",
    "K7GW",
    "Kaspersky",
    "Kingsoft",
    "Lionic",
    "Malwarebytes",
    "MaxSecure",
    "McAfee",
    "McAfeeD",
    "MicroWorld-eScan",
    "Microsoft",
    "NANO-Antivirus",
    "Paloalto",
    "Panda",
    "Rising",
    "SUPERAntiSpyware",
    "Sangfor",
    "SentinelOne",
    "Skyhigh",
    "Sophos",
    "Symantec",
    "TACHYON",
    "Tencent",
    "Trapmine",
    "TrendMicro",
    "TrendMicro-HouseCall",
    "VBA32",
    "VIPRE",
    "Varist",
    "ViRobot",
    "VirIT",
    "Webroot",
    "Xcitium",
    "Yandex",
    "Zillya",
    "ZoneAlarm",
    "Zoner",
)

#: URL / domain / IP reputation services (60).
URL_ENGINES: tuple[str, ...] = (
    "ADMINUSLabs",
    "AILabs (MONITORAPP)",
    "Abusix",
    "AlienVault",
    "Antiy-AVL",
    "Artists Against 419",
    "Avira",
    "BitDefender",
    "Bkav",
    "BlockList",
    "Blueliv",
    "CINS Army",
    "CMC Threat Intelligence",
    "CRDF",
    "Certego",
    "Chong Lua Dao",
    "Criminal IP",
    "CyRadar",
    "Cyan",
    "DNS8",
    "Dr.Web",
    "ESET",
    "ESTsecurity",
    "EmergingThreats",
    "Emsisoft",
    "Feodo Tracker",
    "Forcepoint ThreatSeeker",
    "Fortinet",
    "G-Data",
    "Google Safebrowsing",
    "GreenSnow",
    "Heimdal Security",
    "IPsum",
    "Juniper Networks",
    "Kaspersky",
    "Lionic",
    "Lumu",
    "MalwarePatrol",
    "Malwared",
    "Netcraft",
    "OpenPhish",
    "PREBYTES",
    "PhishFort",
    "PhishLabs",
    "Phishing Database",
    "Phishtank",
    "Quick Heal",
    "Quttera",
    "Rising",
    "SOCRadar",
    "Sangfor",
    "Seclookup",
    "Sophos",
    "Spam404",
    "Sucuri SiteCheck",
    "Trustwave",
    "URLhaus",
    "VIPRE",
    "Webroot",
    "Yandex Safebrowsing",
)


class FileType:
    """A file type the generator can produce: VT labels plus how its bytes start."""

    __slots__ = ("description", "extension", "header", "magic", "tag", "tags", "text")

    def __init__(
        self,
        tag: str,
        description: str,
        magic: str,
        extension: str,
        header: bytes,
        *,
        text: bool = False,
        tags: tuple[str, ...] = (),
    ) -> None:
        self.tag = tag
        self.description = description
        self.magic = magic
        self.extension = extension
        self.header = header
        self.text = text
        self.tags = tags


_PE_HEADER = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    b"\xb8\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x00"
    b"!This program cannot be run in DOS mode.\r\r\n$\x00\x00\x00PE\x00\x00L\x01"
)

FILE_TYPES: dict[str, FileType] = {
    t.tag: t
    for t in (
        FileType(
            "peexe",
            "Win32 EXE",
            "PE32 executable (GUI) Intel 80386, for MS Windows",
            "exe",
            _PE_HEADER,
            tags=("peexe",),
        ),
        FileType(
            "pedll",
            "Win32 DLL",
            "PE32 executable (DLL) (GUI) Intel 80386, for MS Windows",
            "dll",
            _PE_HEADER,
            tags=("pedll",),
        ),
        FileType(
            "elf",
            "ELF",
            "ELF 32-bit LSB executable, Intel 80386, statically linked",
            "elf",
            b"\x7fELF\x01\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x03\x00",
            tags=("elf",),
        ),
        FileType(
            "pdf", "PDF", "PDF document, version 1.7", "pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", tags=("pdf",)
        ),
        FileType(
            "zip",
            "ZIP",
            "Zip archive data, at least v2.0 to extract",
            "zip",
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00",
            tags=("zip",),
        ),
        FileType(
            "doc",
            "MS Word Document",
            "Composite Document File V2 Document",
            "doc",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00",
            tags=("doc",),
        ),
        FileType(
            "javascript",
            "JavaScript",
            "ASCII text, with very long lines",
            "js",
            b"var _0x",
            text=True,
            tags=("javascript",),
        ),
        FileType(
            "powershell",
            "Powershell",
            "ASCII text",
            "ps1",
            b"$ErrorActionPreference = 'SilentlyContinue'\n",
            text=True,
            tags=("powershell",),
        ),
        FileType(
            "html",
            "HTML",
            "HTML document, ASCII text",
            "html",
            b"<!DOCTYPE html>\n<html><head>",
            text=True,
            tags=("html",),
        ),
        FileType("text", "Text", "ASCII text", "txt", b"", text=True, tags=("text",)),
    )
}

SYLLABLES: tuple[str, ...] = (
    "ab",
    "ar",
    "bel",
    "bin",
    "cor",
    "dal",
    "dex",
    "dor",
    "el",
    "fen",
    "gar",
    "hal",
    "ix",
    "jun",
    "kor",
    "lax",
    "lum",
    "mar",
    "mex",
    "nor",
    "nyx",
    "ol",
    "pax",
    "pyr",
    "qua",
    "ral",
    "rex",
    "sol",
    "syn",
    "tal",
    "tor",
    "ul",
    "vex",
    "vin",
    "wen",
    "xan",
    "yor",
    "zan",
    "zer",
    "ka",
    "mo",
    "ri",
    "te",
    "ne",
    "lo",
    "sa",
)

MALICIOUS_TLDS: tuple[str, ...] = (
    "xyz",
    "top",
    "ru",
    "info",
    "biz",
    "online",
    "site",
    "com",
    "net",
    "club",
    "live",
    "su",
)
BENIGN_TLDS: tuple[str, ...] = ("com", "com", "com", "org", "net", "io", "de", "fr", "co.uk", "nl")

REGISTRARS: tuple[str, ...] = (
    "NameSilo, LLC",
    "Tucows Domains Inc.",
    "GoDaddy.com, LLC",
    "REG.RU LLC",
    "PDR Ltd.",
    "Namecheap, Inc.",
    "Gandi SAS",
    "OVH sas",
    "Key-Systems GmbH",
    "Dynadot, LLC",
)

RESOLVERS: tuple[str, ...] = ("VirusTotal", "Georgia Institute of Technology", "Hispasec")

#: (country, continent, regional internet registry)
COUNTRIES: tuple[tuple[str, str, str], ...] = (
    ("US", "NA", "ARIN"),
    ("NL", "EU", "RIPE NCC"),
    ("DE", "EU", "RIPE NCC"),
    ("RU", "EU", "RIPE NCC"),
    ("FR", "EU", "RIPE NCC"),
    ("GB", "EU", "RIPE NCC"),
    ("SC", "AF", "AFRINIC"),
    ("HK", "AS", "APNIC"),
    ("SG", "AS", "APNIC"),
    ("BR", "SA", "LACNIC"),
    ("MD", "EU", "RIPE NCC"),
    ("UA", "EU", "RIPE NCC"),
)

AS_SUFFIXES: tuple[str, ...] = (
    "Hosting Ltd",
    "Networks LLC",
    "Cloud SA",
    "Datacenter BV",
    "Telecom",
    "Internet Services",
)

URL_CATEGORIES_MALICIOUS: tuple[tuple[str, str], ...] = (
    ("Forcepoint ThreatSeeker", "malicious web sites"),
    ("Sophos", "malware callhome, command and control"),
    ("BitDefender", "malware"),
    ("alphaMountain.ai", "Malicious"),
)
URL_CATEGORIES_BENIGN: tuple[str, ...] = (
    "business",
    "information technology",
    "shopping",
    "news and media",
    "education",
    "search engines and portals",
    "travel",
    "finance",
)
