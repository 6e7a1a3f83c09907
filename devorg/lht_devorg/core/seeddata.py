"""Word lists for the seeded data, and the fixed corpus of nasty values (lessons 4-8)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

FIRST_NAMES = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
               "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
               "Sarah", "Charles", "Karen", "Amélie", "Søren", "Zoë", "Hiroshi", "Priya", "Chen",
               "Fatima", "Lukas", "Olga", "Mateo"]
LAST_NAMES = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
              "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
              "Moore", "Jackson", "Martin", "Müller", "O'Brien", "Nakamura", "Patel", "Dubois",
              "Kowalski", "Rossi", "Larsen", "Novák", "Silva"]
COMPANY_A = ["Blue", "Summit", "Pioneer", "Golden", "Silver", "Northern", "Pacific", "Atlas", "Crescent",
             "Evergreen", "Granite", "Harbor", "Iron", "Lakeside", "Maple", "Orion", "Redwood", "Sterling",
             "Union", "Vertex"]
COMPANY_B = ["Logistics", "Dynamics", "Foods", "Health", "Energy", "Systems", "Partners", "Textiles",
             "Analytics", "Robotics", "Media", "Capital", "Pharma", "Motors", "Software", "Outfitters"]
COMPANY_C = ["Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "Group", "& Co.", "AG", "Holdings"]
#: (city, state, stateCode, postal prefix, country, countryCode, area code / dialling, lat, lon)
PLACES = [
    ("San Francisco", "California", "CA", "941", "United States", "US", "415", 37.7749, -122.4194),
    ("New York", "New York", "NY", "100", "United States", "US", "212", 40.7128, -74.006),
    ("Austin", "Texas", "TX", "787", "United States", "US", "512", 30.2672, -97.7431),
    ("Seattle", "Washington", "WA", "981", "United States", "US", "206", 47.6062, -122.3321),
    ("Chicago", "Illinois", "IL", "606", "United States", "US", "312", 41.8781, -87.6298),
    ("Boston", "Massachusetts", "MA", "021", "United States", "US", "617", 42.3601, -71.0589),
    ("Atlanta", "Georgia", "GA", "303", "United States", "US", "404", 33.749, -84.388),
    ("Denver", "Colorado", "CO", "802", "United States", "US", "303", 39.7392, -104.9903),
    ("Toronto", "Ontario", "ON", "M5V", "Canada", "CA", "416", 43.6532, -79.3832),
    ("Vancouver", "British Columbia", "BC", "V6B", "Canada", "CA", "604", 49.2827, -123.1207),
    ("Montréal", "Quebec", "QC", "H2X", "Canada", "CA", "514", 45.5017, -73.5673),
    ("Sydney", "New South Wales", "NSW", "200", "Australia", "AU", "2", -33.8688, 151.2093),
    ("Melbourne", "Victoria", "VIC", "300", "Australia", "AU", "3", -37.8136, 144.9631),
    ("München", None, None, "803", "Germany", "DE", "89", 48.1351, 11.582),
    ("London", None, None, "EC1", "United Kingdom", "GB", "20", 51.5072, -0.1276),
    ("Paris", None, None, "750", "France", "FR", "1", 48.8566, 2.3522),
    ("Zürich", None, None, "800", "Switzerland", "CH", "44", 47.3769, 8.5417),
]
STREETS = ["Main St", "Market Street", "Oak Avenue", "2nd Ave", "Harbor Blvd", "King Street West",
           "Rue de Rivoli", "Bahnhofstrasse", "High Street", "Elm Court"]
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]

LONG_NOTES = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ✓ " * 3000)[:131072]

#: Fixed records seeded first (record number n has Id ``ids.make_id(keyPrefix, n)``), with the
#: values earlier loaders mangled: encodings, text that looks like something else, delimiters and
#: newlines, extreme numbers, dates and datetimes. Keys are API names; values as stored.
NASTY_VALUES: dict[str, list[dict]] = {
    "Account": [
        {"Name": "ACME – NORTH", "Description": "Rocket 🚀 launch, café ☕ and naïve façade", "BillingCity": "Zürich",
         "BillingState": None, "BillingStateCode": None, "BillingCountry": "Switzerland", "BillingCountryCode": "CH",
         "BillingPostalCode": "8001", "BillingLatitude": Decimal("47.376886"), "BillingLongitude": Decimal("8.541694"),
         "AccountNumber": "10"},
        {"Name": "株式会社テスト", "Description": "中文测试 / 한국어 / Ελληνικά / עברית", "AccountNumber": "V207252"},
        {"Name": "NA", "AccountNumber": "0012", "Site": "TRUE", "TickerSymbol": "1e5"},
        {"Name": "N/A", "AccountNumber": "20", "Site": "nan"},
        {"Name": "None", "AccountNumber": "1e5", "Site": "null"},
        {"Name": "nan", "Site": "None", "Sic": "0012"},
        {"Name": "null", "Site": "N/A", "Sic": "20"},
        {"Name": "TRUE", "Site": "NA", "Sic": "1e5"},
        {"Name": 'Quote "Inc", Ltd', "Description": 'She said "hi", then left,\nand "came back"'},
        {"Name": "CR\rLF\r\nmix", "Description": "line1\nline2\r\nline3\rline4",
         "BillingStreet": "1 Main St\nSuite 200"},
        {"Name": "Delimiters , ; | ^ ` \t", "Description": "a,b;c|d^e`f\tg\"h'i"},
        {"Name": "Max revenue", "AnnualRevenue": Decimal("999999999999999999"), "NumberOfEmployees": 99999999,
         "SLAExpirationDate__c": dt.date(4000, 12, 31), "NumberofLocations__c": Decimal("999")},
        {"Name": "Negative revenue", "AnnualRevenue": Decimal("-5"), "NumberOfEmployees": 0,
         "SLAExpirationDate__c": dt.date(1700, 1, 1), "NumberofLocations__c": Decimal("0")},
        {"Name": "Zero revenue", "AnnualRevenue": Decimal("0")},
        {"Name": "Midnight", "CreatedDate": dt.datetime(2024, 12, 31, 23, 59, 59)},
        {"Name": "DST spring US", "CreatedDate": dt.datetime(2024, 3, 10, 7, 0, 0)},
        {"Name": "DST autumn EU", "CreatedDate": dt.datetime(2024, 10, 27, 1, 0, 0)},
    ],
    "Contact": [
        {"FirstName": "José", "LastName": "Müller-Lüdenscheidt", "Email": "jose.muller+test@example.com"},
        {"FirstName": "王", "LastName": "小明", "Description": "👩‍💻 engineer"},
        {"FirstName": "None", "LastName": "null", "Phone": "0012"},
    ],
    "Invoice__c": [
        {"Amount__c": Decimal("99999999999999.99"), "Tax_Rate__c": Decimal("999.99"), "Notes__c": LONG_NOTES,
         "Due_Date__c": dt.date(4000, 12, 31), "Quantity__c": Decimal("999999999999999999"),
         "External_Ref__c": "0012", "Paid_At__c": dt.datetime(2024, 12, 31, 23, 59, 59),
         "Pickup_Time__c": dt.time(23, 59, 59, 999000)},
        {"Amount__c": Decimal("-12345.67"), "Tax_Rate__c": Decimal("-0.01"), "Due_Date__c": dt.date(1700, 1, 1),
         "External_Ref__c": "V207252", "Paid_At__c": dt.datetime(2024, 3, 10, 7, 0, 0),
         "Pickup_Time__c": dt.time(0, 0, 0), "Notes__c": "emoji 🧾, CJK 請求書, quote \" and comma ,"},
        {"Amount__c": Decimal("0"), "Tax_Rate__c": Decimal("0"), "External_Ref__c": "10",
         "Paid_At__c": dt.datetime(2024, 10, 27, 1, 0, 0), "Notes__c": "NA", "Quantity__c": Decimal("0")},
        {"Amount__c": Decimal("0.01"), "External_Ref__c": "20", "Notes__c": "line1\r\nline2\nline3",
         "Categories__c": "Hardware;Software;Services", "Site__Latitude__s": Decimal("-89.999999999999999"),
         "Site__Longitude__s": Decimal("179.999999999999999")},
        {"Amount__c": Decimal("1.5"), "External_Ref__c": "1e5", "Notes__c": "nan"},
        {"Amount__c": Decimal("2"), "External_Ref__c": "TRUE", "Notes__c": "None"},
        {"Amount__c": Decimal("3"), "External_Ref__c": "N/A", "Notes__c": "null"},
    ],
}
