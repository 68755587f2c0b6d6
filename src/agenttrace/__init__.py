# agenttrace
