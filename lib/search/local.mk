# lib/search: see lib/search/*.h for the contract.
ES_SOURCES +=
