# lib/api: see lib/api/*.h for the contract.
ES_SOURCES +=
