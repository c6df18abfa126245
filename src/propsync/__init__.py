"""propsync keeps Salesforce's product_property__c true to the product database."""

__version__ = "0.1.0"
