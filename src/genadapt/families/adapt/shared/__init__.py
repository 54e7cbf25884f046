"""What both adaptation stages (train, report) and the pixel family import: the params, the network,
the method interface and the one training loop; one DVC dependency folder for all of them."""
