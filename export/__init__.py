"""Keras -> SavedModel -> TFLite: conversion, quantization and verification for edge devices."""
