import CNI
print(CNIVersion.supported)
