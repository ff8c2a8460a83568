# lib/storage: see lib/storage/*.h for the contract.
ES_SOURCES +=
