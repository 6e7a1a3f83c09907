"""Metadata the real payloads do not provide: User's missing keys, Invoice__c, Attachment and
formula fields on the standard objects (with the SQL that computes them in the store)."""

from __future__ import annotations

import copy
from typing import Any

from .fieldspec import complete_field, make_field, picklist

#: Formula fields: object -> field -> (describe overrides, SQL computing it, SQL for a silent change).
#: The "silent change" expression stands for an input outside the record moving (a parent field,
#: TODAY(), an edited formula definition): the value changes, SystemModstamp does not. It differs
#: from the normal value for every record with non-null inputs.
FORMULAS: dict[str, dict[str, tuple[dict[str, Any], str, str]]] = {
    "Account": {
        "Tier__c": (
            {
                "type": "string",
                "length": 1300,
                "label": "Tier",
                "calculatedFormula": 'IF(AnnualRevenue >= 10000000, "Enterprise", IF(AnnualRevenue >= 1000000, "Mid-Market", "SMB"))',
            },
            "CASE WHEN \"AnnualRevenue\" >= 10000000 THEN 'Enterprise' WHEN \"AnnualRevenue\" >= 1000000 THEN 'Mid-Market' ELSE 'SMB' END",
            "CASE WHEN \"AnnualRevenue\" >= 10000000 THEN 'Strategic' WHEN \"AnnualRevenue\" >= 1000000 THEN 'Mid Market' ELSE 'Small Business' END",
        )
    },
    "Contact": {
        "Mailing_Label__c": (
            {
                "type": "string",
                "length": 1300,
                "label": "Mailing Label",
                "calculatedFormula": 'FirstName & " " & LastName & BR() & MailingCity',
            },
            "nullif(concat_ws(' ', \"FirstName\", \"LastName\") || coalesce(chr(10) || \"MailingCity\", ''), '')",
            "nullif('Attn: ' || concat_ws(' ', \"FirstName\", \"LastName\") || coalesce(chr(10) || \"MailingCity\", ''), 'Attn: ')",
        )
    },
    "Opportunity": {
        "Weighted_Amount__c": (
            {
                "type": "currency",
                "precision": 18,
                "scale": 2,
                "label": "Weighted Amount",
                "calculatedFormula": "Amount * Probability",
            },
            'CAST("Amount" * "Probability" / 100 AS DECIMAL(18,2))',
            'CAST("Amount" * "Probability" / 100 + 1 AS DECIMAL(18,2))',
        )
    },
    "Lead": {
        "Lead_Score__c": (
            {
                "type": "double",
                "precision": 18,
                "scale": 0,
                "label": "Lead Score",
                "calculatedFormula": 'IF(ISPICKVAL(Rating, "Hot"), 3, IF(ISPICKVAL(Rating, "Warm"), 2, 1)) * IF(ISBLANK(Email), 1, 2)',
            },
            "CAST((CASE \"Rating\" WHEN 'Hot' THEN 3 WHEN 'Warm' THEN 2 ELSE 1 END) * (CASE WHEN \"Email\" IS NULL THEN 1 ELSE 2 END) AS DECIMAL(18,0))",
            "CAST(1 + (CASE \"Rating\" WHEN 'Hot' THEN 3 WHEN 'Warm' THEN 2 ELSE 1 END) * (CASE WHEN \"Email\" IS NULL THEN 1 ELSE 2 END) AS DECIMAL(18,0))",
        )
    },
    "Case": {
        "Priority_Score__c": (
            {
                "type": "double",
                "precision": 18,
                "scale": 0,
                "label": "Priority Score",
                "calculatedFormula": 'CASE(Priority, "High", 3, "Medium", 2, 1)',
            },
            "CAST(CASE \"Priority\" WHEN 'High' THEN 3 WHEN 'Medium' THEN 2 ELSE 1 END AS DECIMAL(18,0))",
            "CAST(CASE \"Priority\" WHEN 'High' THEN 10 WHEN 'Medium' THEN 5 ELSE 2 END AS DECIMAL(18,0))",
        )
    },
    "Task": {
        "Is_High_Priority__c": (
            {
                "type": "boolean",
                "label": "Is High Priority",
                "calculatedFormula": 'ISPICKVAL(Priority, "High")',
            },
            "coalesce(\"Priority\" = 'High', false)",
            "NOT coalesce(\"Priority\" = 'High', false)",
        )
    },
    "Invoice__c": {
        "Total__c": (
            {
                "type": "currency",
                "precision": 18,
                "scale": 2,
                "label": "Total",
                "calculatedFormula": "Amount__c * (1 + Tax_Rate__c)",
            },
            'CAST("Amount__c" * (1 + coalesce("Tax_Rate__c", 0) / 100) AS DECIMAL(18,2))',
            'CAST("Amount__c" * (1 + coalesce("Tax_Rate__c", 0) / 100) + 1 AS DECIMAL(18,2))',
        )
    },
}


def push_fields(obj: str) -> list[dict]:
    """Custom fields a push (reverse ETL) writes: an external id on Account and Contact, a
    restricted picklist and a score on Account (so the demo can push to them)."""
    ext = make_field(
        "External_Id__c",
        "string",
        "External Id",
        length=64,
        externalId=True,
        unique=True,
        idLookup=True,
    )
    if obj == "Contact":
        return [ext]
    if obj != "Account":
        return []
    return [
        ext,
        make_field(
            "Customer_Tier__c",
            "picklist",
            "Customer Tier",
            restrictedPicklist=True,
            picklistValues=picklist(["Gold", "Silver", "Bronze"]),
        ),
        make_field("Account_Score__c", "double", "Account Score", precision=5, scale=2),
    ]


def formula_field(obj: str, name: str) -> dict:
    """The describe dict of a formula field of :data:`FORMULAS`."""
    spec = dict(FORMULAS[obj][name][0])
    type_, label = spec.pop("type"), spec.pop("label")
    return make_field(name, type_, label, calculated=True, custom=True, **spec)


def _audit_fields(owner_to: list[str], name_field: dict | None) -> list[dict]:
    ref = {
        "referenceTo": ["User"],
        "nillable": False,
        "createable": False,
        "updateable": False,
        "defaultedOnCreate": True,
    }
    out = [
        make_field("Id", "id", "Record ID"),
        make_field(
            "OwnerId",
            "reference",
            "Owner ID",
            referenceTo=owner_to,
            relationshipName="Owner",
            nillable=False,
            defaultedOnCreate=True,
        ),
    ]
    out.append(make_field("IsDeleted", "boolean", "Deleted", createable=False, updateable=False))
    if name_field:
        out.append(name_field)
    out += [
        make_field("CreatedDate", "datetime", "Created Date"),
        make_field(
            "CreatedById", "reference", "Created By ID", relationshipName="CreatedBy", **ref
        ),
        make_field("LastModifiedDate", "datetime", "Last Modified Date"),
        make_field(
            "LastModifiedById",
            "reference",
            "Last Modified By ID",
            relationshipName="LastModifiedBy",
            **ref,
        ),
        make_field("SystemModstamp", "datetime", "System Modstamp"),
    ]
    return out


def invoice_fields() -> list[dict]:
    """Fields of the custom object Invoice__c."""
    name = make_field(
        "Name",
        "string",
        "Invoice Number",
        length=80,
        autoNumber=True,
        nameField=True,
        createable=False,
        updateable=False,
        nillable=False,
        defaultedOnCreate=True,
        idLookup=True,
    )
    fields = _audit_fields(["Group", "User"], name)
    fields += [
        make_field(
            "LastActivityDate", "date", "Last Activity Date", createable=False, updateable=False
        ),
        make_field(
            "LastViewedDate", "datetime", "Last Viewed Date", createable=False, updateable=False
        ),
        make_field(
            "LastReferencedDate",
            "datetime",
            "Last Referenced Date",
            createable=False,
            updateable=False,
        ),
        make_field(
            "Account__c",
            "reference",
            "Account",
            referenceTo=["Account"],
            relationshipName="Account__r",
            relationshipOrder=None,
        ),
        make_field("Amount__c", "currency", "Amount", precision=16, scale=2),
        make_field("Tax_Rate__c", "percent", "Tax Rate", precision=5, scale=2),
        formula_field("Invoice__c", "Total__c"),
        make_field(
            "Status__c",
            "picklist",
            "Status",
            restrictedPicklist=True,
            picklistValues=picklist(["Draft", "Sent", "Paid", "Overdue", "Void"], default="Draft"),
            defaultedOnCreate=True,
        ),
        make_field(
            "Categories__c",
            "multipicklist",
            "Categories",
            length=4099,
            picklistValues=picklist(["Hardware", "Software", "Services", "Support", "Training"]),
        ),
        make_field("Due_Date__c", "date", "Due Date"),
        make_field("Paid_At__c", "datetime", "Paid At"),
        make_field("Pickup_Time__c", "time", "Pickup Time"),
        make_field("Notes__c", "textarea", "Notes", length=131072),
        make_field("Site__c", "location", "Site", precision=0, scale=15),
        make_field(
            "Site__Latitude__s",
            "double",
            "Site (Latitude)",
            precision=18,
            scale=15,
            compoundFieldName="Site__c",
        ),
        make_field(
            "Site__Longitude__s",
            "double",
            "Site (Longitude)",
            precision=18,
            scale=15,
            compoundFieldName="Site__c",
        ),
        make_field("Quantity__c", "double", "Quantity", precision=18, scale=0),
        make_field("Is_Disputed__c", "boolean", "Is Disputed"),
        make_field(
            "External_Ref__c",
            "string",
            "External Ref",
            length=50,
            externalId=True,
            unique=True,
            idLookup=True,
        ),
    ]
    return fields


def attachment_fields() -> list[dict]:
    """Fields of the standard object Attachment (keyPrefix 00P)."""
    fields = _audit_fields(["User"], None)
    fields.insert(
        2,
        make_field(
            "ParentId",
            "reference",
            "Parent ID",
            referenceTo=["Account", "Contact", "Opportunity", "Case", "Lead", "Task", "Invoice__c"],
            relationshipName="Parent",
            nillable=False,
            updateable=False,
        ),
    )
    fields.insert(
        3, make_field("Name", "string", "File Name", length=255, nillable=False, nameField=True)
    )
    fields.insert(4, make_field("IsPrivate", "boolean", "Private"))
    fields.insert(5, make_field("ContentType", "string", "Content Type", length=120))
    fields.insert(
        6,
        make_field(
            "BodyLength", "int", "Body Length", createable=False, updateable=False, digits=9
        ),
    )
    fields.insert(7, make_field("Body", "base64", "Body", length=33554432, nillable=False))
    fields.insert(8, make_field("Description", "textarea", "Description", length=500))
    return fields


_USER_LENGTHS = {
    "Username": 80,
    "LastName": 80,
    "FirstName": 40,
    "Name": 121,
    "CompanyName": 80,
    "Division": 80,
    "Department": 80,
    "Title": 80,
    "City": 40,
    "State": 80,
    "PostalCode": 20,
    "Country": 80,
    "Email": 128,
    "SenderEmail": 80,
    "SenderName": 80,
    "Signature": 1333,
    "Alias": 8,
    "CommunityNickname": 40,
    "BadgeText": 80,
    "TimeZoneSidKey": 40,
    "LocaleSidKey": 40,
    "EmailEncodingKey": 40,
    "UserType": 40,
    "LanguageLocaleKey": 40,
    "EmployeeNumber": 20,
    "Extension": 40,
    "FederationIdentifier": 512,
    "AboutMe": 1000,
    "FullPhotoUrl": 1024,
    "SmallPhotoUrl": 1024,
    "MediumPhotoUrl": 1024,
    "OutOfOfficeMessage": 40,
    "DigestFrequency": 40,
    "DefaultGroupNotificationFrequency": 40,
    "StayInTouchSubject": 80,
    "StayInTouchSignature": 512,
    "StayInTouchNote": 512,
    "BannerPhotoUrl": 1024,
    "SmallBannerPhotoUrl": 1024,
    "MediumBannerPhotoUrl": 1024,
}
_USER_ADDRESS = {
    "Street",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Latitude",
    "Longitude",
    "GeocodeAccuracy",
}


def user_fields(trimmed: dict) -> list[dict]:
    """User's fields, completed from the trimmed SOQL-builder payload by the describe conventions."""
    out = []
    for f in trimmed["fields"]:
        partial = copy.deepcopy(f)
        name = f["name"]
        if name in _USER_LENGTHS:
            partial["length"] = _USER_LENGTHS[name]
        if f["type"] == "double":
            partial["precision"], partial["scale"] = 18, 15
        if name in _USER_ADDRESS:
            partial["compoundFieldName"] = "Address"
        if name in ("FirstName", "LastName"):
            partial["compoundFieldName"] = "Name"
        if name == "Name":
            partial.update(
                createable=False, updateable=False, nameField=True, compoundFieldName=None
            )
        if f["type"] == "int":
            partial["digits"] = 9
        field = complete_field(partial)
        if f["type"] == "reference":
            field["relationshipName"] = f.get("relationshipName")
        if f["type"] == "address":
            field.update(
                createable=False,
                updateable=False,
                queryByDistance=True,
                groupable=False,
                sortable=False,
                aggregatable=False,
            )
        out.append(field)
    return out


def plain_object_fields() -> list[dict]:
    """Fields of a plain custom object: the audit fields and a text Name."""
    name = make_field("Name", "string", "Name", length=80, nameField=True, idLookup=True)
    return _audit_fields(["Group", "User"], name)
