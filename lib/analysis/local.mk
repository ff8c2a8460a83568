# lib/analysis: see lib/analysis/*.h for the contract.
ES_SOURCES +=
